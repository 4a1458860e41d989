"""An async sink for tests: every lifecycle method is a coroutine; records like recorder.py."""

import asyncio
import json
import threading

import sinkbridge as sb


class AsyncRecorder(sb.Sink):
    async def _record(self, event, **fields):
        await asyncio.sleep(0)
        with open(self.path, "a") as out:
            out.write(json.dumps({"event": event, **fields}) + "\n")

    async def configure(self, props):
        self.path = props["path"]
        await self._record("configure", thread=threading.current_thread().name)

    async def open(self, ctx):
        await self._record("open", rule_id=ctx.rule_id, op_id=ctx.op_id)

    async def collect(self, ctx, data):
        await self._record("collect", data=data, thread=threading.current_thread().name)

    async def close(self, ctx):
        await self._record("close")
