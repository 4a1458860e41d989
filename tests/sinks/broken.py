import sinkbridge as sb

raise ImportError("this plugin needs a library that is not installed")


class Broken(sb.Sink):
    def collect(self, ctx, data):
        pass
