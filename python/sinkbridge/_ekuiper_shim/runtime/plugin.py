"""``ekuiper.runtime.plugin``: ``PluginConfig`` and ``start``. Under eKuiper, ``start`` serves the
plugin's symbols over nng to the eKuiper process; here the plugin's main program runs inside
sinkbridge, and ``start`` hands the configuration to sinkbridge and returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["PluginConfig", "start"]


class PluginConfig:
    """The plugin's name and a factory for each of its symbols, by symbol name."""

    def __init__(
        self,
        name: str,
        sources: dict[str, Callable[[], Any]],
        sinks: dict[str, Callable[[], Any]],
        functions: dict[str, Callable[[], Any]],
    ) -> None:
        self.name = name
        self.sources = sources
        self.sinks = sinks
        self.functions = functions

    def get(self, plugin_type: str, symbol_name: str) -> Callable[[], Any] | None:
        table = {"source": self.sources, "sink": self.sinks, "function": self.functions}.get(plugin_type)
        return None if table is None else table[symbol_name]


# The configurations handed to start(), in order; sinkbridge takes them after running a
# plugin's main program.
started: list[PluginConfig] = []


def start(c: PluginConfig) -> None:
    """Registers the plugin with sinkbridge (instead of serving it over nng)."""
    started.append(c)
