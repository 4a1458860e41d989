import sinkbridge as sb


class AsyncSink(sb.Sink):
    async def collect(self, ctx, data):
        pass
