# A function, as in eKuiper's example plugin (imported, not run by sinkbridge).
from typing import List, Any

from ekuiper import Function, Context


class RevertFunc(Function):

    def __init__(self):
        pass

    def validate(self, args: List[Any]):
        if len(args) != 1:
            return "require only one parameter"
        return ""

    def exec(self, args: List[Any], ctx: Context):
        return args[0][::-1]

    def is_aggregate(self):
        return False


revertIns = RevertFunc()
