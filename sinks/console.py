"""Prints each result as a line a person can read.

The quickstart's sink, and the smallest useful example of a sink: copy it to start your own.
Any ``<name>.py`` in this folder that defines one ``sinkbridge.Sink`` subclass can be named
as ``<name>`` in a rule's actions.
"""

import sinkbridge as sb


class Console(sb.Sink):
    def configure(self, props):
        # The action's properties: {"console": {"title": "too hot"}}.
        self.title = props.get("title", "result")
        self.count = 0

    def open(self, ctx):
        print(f"[{ctx.rule_id}] {self.title}: waiting for results", flush=True)

    def collect(self, ctx, data):
        # One rule result: a list of rows, each a dict.
        for row in data:
            self.count += 1
            fields = "  ".join(f"{key}={value}" for key, value in row.items())
            print(f"[{ctx.rule_id}] {self.title} #{self.count}: {fields}", flush=True)

    def close(self, ctx):
        print(f"[{ctx.rule_id}] {self.title}: {self.count} result(s), done", flush=True)
