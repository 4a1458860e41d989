# A source, as in eKuiper's example plugin: sinkbridge runs only the plugin's sinks, but the
# plugin imports it, so `from ekuiper import Source` must work.
import time

from ekuiper import Source, Context


class PyJson(Source):
    def __init__(self):
        self.data = {"name": "pyjson", "value": 2021}

    def configure(self, datasource: str, conf: dict):
        if 'value' in conf:
            self.data['value'] = conf['value']

    def open(self, ctx: Context):
        for _ in range(3):
            ctx.emit(self.data, None)
            time.sleep(0.2)

    def close(self, ctx: Context):
        pass
