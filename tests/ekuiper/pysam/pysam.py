# An eKuiper portable plugin's main program, written as eKuiper's Python SDK documentation shows.
from ekuiper import plugin, PluginConfig
from flaky import FlakySink
from print import PrintSink
from pyjson import PyJson
from revert import revertIns

if __name__ == '__main__':
    c = PluginConfig("pysam", {"pyjson": lambda: PyJson()},
                     {"print": lambda: PrintSink(), "flaky": lambda: FlakySink()},
                     {"revert": lambda: revertIns})
    plugin.start(c)
