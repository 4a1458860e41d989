"""``ekuiper.runtime.context``: the context an eKuiper sink receives."""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

__all__ = ["Context"]


class Context:
    """What an eKuiper symbol knows about where it runs, as the SDK defines it."""

    @abstractmethod
    def get_rule_id(self) -> str: ...

    @abstractmethod
    def get_op_id(self) -> str: ...

    @abstractmethod
    def get_instance_id(self) -> int: ...

    @abstractmethod
    def get_logger(self) -> Any: ...

    @abstractmethod
    def emit(self, message: dict[str, Any], meta: dict[str, Any]) -> None: ...

    @abstractmethod
    def emit_error(self, error: str) -> None: ...

    @abstractmethod
    def ack_ok(self) -> None: ...

    @abstractmethod
    def ack_error(self, error: str) -> None: ...


class PluginLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The sink's logger. The SDK documents ``get_logger()`` as a logger but returns
    ``sys.stdout``, so plugins call either ``.info(...)`` or ``.write(...)``: both work here."""

    def write(self, text: str) -> int:
        if text.strip():
            self.info("%s", text.rstrip())
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""
