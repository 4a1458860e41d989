"""``ekuiper.sink``: the base class of an eKuiper Python sink, as the SDK defines it."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from .runtime.context import Context

__all__ = ["Sink"]


class Sink:
    """An eKuiper sink: ``configure(conf)``, ``open(ctx)``, ``collect(ctx, data)`` with ``data``
    the result as JSON bytes, ``close(ctx)``."""

    @abstractmethod
    def configure(self, conf: dict[str, Any]) -> None:
        """Receives the action's properties."""

    @abstractmethod
    def open(self, ctx: Context) -> None:
        """Connects to the external system."""

    @abstractmethod
    def collect(self, ctx: Context, data: Any) -> None:
        """Receives one result, as JSON bytes."""

    @abstractmethod
    def close(self, ctx: Context) -> None:
        """Releases what open acquired."""
