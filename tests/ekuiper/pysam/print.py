# eKuiper's example print sink, as its Python SDK documentation shows it.
from typing import Any

from ekuiper import Sink, Context


class PrintSink(Sink):

    def __init__(self):
        pass

    def configure(self, conf: dict):
        print('configure print sink')

    def open(self, ctx: Context):
        print('open print sink: ', ctx)

    def collect(self, ctx: Context, data: Any):
        print('receive: ', data)

    def close(self, ctx: Context):
        print("closing print sink")
