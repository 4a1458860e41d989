import json

import sinkbridge as sb


class PackagedSink(sb.Sink):
    def configure(self, props):
        self.path = props["path"]

    def collect(self, ctx, data):
        with open(self.path, "a") as out:
            out.write(json.dumps({"event": "collect", "data": data, "via": "package"}) + "\n")
