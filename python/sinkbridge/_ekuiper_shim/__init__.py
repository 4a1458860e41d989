"""The eKuiper Python SDK's API (PyPI ``ekuiper``), for eKuiper portable plugins run in-process.

While sinkbridge loads an eKuiper plugin, ``import ekuiper`` (and its submodules) resolves to
this package: the plugin's ``from ekuiper import Sink, Context`` and its main program's
``plugin.start(PluginConfig(...))`` work unchanged, with no nng socket and no second process.
See docs/ekuiper-plugins.md.
"""

from .function import Function
from .runtime import plugin
from .runtime.context import Context
from .runtime.plugin import PluginConfig
from .sink import Sink
from .source import Source

__all__ = ["Context", "Function", "PluginConfig", "Sink", "Source", "plugin"]

name = "ekuiper"
