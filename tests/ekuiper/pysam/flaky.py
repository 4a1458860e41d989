# A sink whose target is busy for its first `failures` results: it says so with ack_error, which
# eKuiper (and sinkbridge) take as "try again". Each result it takes is appended to `path`.
from typing import Any

from ekuiper import Sink, Context


class FlakySink(Sink):

    def __init__(self):
        self.path = None
        self.failures = 0

    def configure(self, conf: dict):
        self.path = conf['path']
        self.failures = int(conf.get('failures', 0))

    def open(self, ctx: Context):
        ctx.get_logger().info('flaky sink open for rule %s, op %s, instance %d',
                              ctx.get_rule_id(), ctx.get_op_id(), ctx.get_instance_id())

    def collect(self, ctx: Context, data: Any):
        if self.failures > 0:
            self.failures -= 1
            ctx.ack_error('target busy')
            return
        with open(self.path, 'a') as f:
            f.write(data.decode('utf-8') + '\n')
        ctx.ack_ok()

    def close(self, ctx: Context):
        ctx.get_logger().write('flaky sink closed\n')
