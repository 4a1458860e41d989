import json

import sinkbridge as sb


class Batched(sb.Sink):
    """Defines collect_batch: receives every queued result in one call."""

    def configure(self, props):
        self.path = props["path"]

    def collect_batch(self, ctx, items):
        with open(self.path, "a") as out:
            out.write(json.dumps({"event": "batch", "items": items}) + "\n")
