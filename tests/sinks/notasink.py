"""A plugin file with no Sink subclass."""


class JustAClass:
    def collect(self, ctx, data):
        pass
