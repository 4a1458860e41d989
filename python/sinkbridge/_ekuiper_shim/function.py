"""``ekuiper.function``: the SDK's function base class, so that a plugin defining functions
imports. sinkbridge runs the sinks of an eKuiper plugin, not its functions."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from .runtime.context import Context

__all__ = ["Function"]


class Function:
    @abstractmethod
    def validate(self, args: list[Any]) -> str:
        """An error message for wrong arguments, or an empty string."""

    @abstractmethod
    def exec(self, args: list[Any], ctx: Context) -> Any:
        """Computes the function."""

    @abstractmethod
    def is_aggregate(self) -> bool:
        """Whether the function aggregates."""
