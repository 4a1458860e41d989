import sinkbridge as sb


class NoCollect(sb.Sink):
    def open(self, ctx):
        pass
