"""A sink for tests: appends each lifecycle call, as a JSON line, to the file named by its
``path`` property. ``fail`` makes a call raise: ``"configure"``, ``"open"``, ``"close"``, or
``{"collect": <value>}`` to raise in ``collect`` for rows whose ``v`` equals that value."""

import json
import threading

import sinkbridge as sb


class Recorder(sb.Sink):
    def _record(self, event, **fields):
        with open(self.path, "a") as out:
            out.write(json.dumps({"event": event, **fields}, default=str) + "\n")

    def configure(self, props):
        self.path = props["path"]
        self.fail = props.get("fail")
        self._record("configure", props=props, thread=threading.current_thread().name)
        if self.fail == "configure":
            raise ValueError("bad configuration: no such host")

    def open(self, ctx):
        self._record(
            "open",
            rule_id=ctx.rule_id,
            op_id=ctx.op_id,
            instance_id=ctx.instance_id,
            logger=ctx.logger.name,
            thread=threading.current_thread().name,
        )
        if self.fail == "open":
            raise ConnectionRefusedError("cannot reach the target")

    def collect(self, ctx, data):
        if isinstance(self.fail, dict) and any(row.get("v") == self.fail["collect"] for row in data):
            raise RuntimeError(f"refusing {data}")
        self._record("collect", data=data, thread=threading.current_thread().name)

    def close(self, ctx):
        self._record("close")
        if self.fail == "close":
            raise RuntimeError("close failed")
