"""``ekuiper.source``: the SDK's source base class, so that a plugin defining sources imports.
sinkbridge runs the sinks of an eKuiper plugin, not its sources."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from .runtime.context import Context

__all__ = ["Source"]


class Source:
    @abstractmethod
    def configure(self, datasource: str, conf: dict[str, Any]) -> None:
        """Receives the data source and its properties."""

    @abstractmethod
    def open(self, ctx: Context) -> None:
        """Runs, emitting rows through ``ctx.emit``."""

    @abstractmethod
    def close(self, ctx: Context) -> None:
        """Stops."""
