import sinkbridge as sb


class First(sb.Sink):
    def collect(self, ctx, data):
        pass


class Second(sb.Sink):
    def collect(self, ctx, data):
        pass
