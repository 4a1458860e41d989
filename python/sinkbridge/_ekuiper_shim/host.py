"""Runs eKuiper portable plugins' sinks in-process: makes ``import ekuiper`` resolve to this
shim, runs the plugin's main program to get its ``PluginConfig``, and wraps each of its sinks in a
:class:`sinkbridge.Sink` that speaks the SDK's protocol (JSON bytes in, ``ack_error`` meaning
"try again")."""

from __future__ import annotations

import importlib
import runpy
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from .._errors import RetryableError, SinkError
from .._sink import Context, Sink
from ..sinks._support import to_json
from .runtime import plugin
from .runtime.context import Context as EkuiperContextBase
from .runtime.context import PluginLogger

__all__ = ["EkuiperSink", "load_plugin"]

_SHIM = __name__.rpartition(".")[0]
_MODULES = (
    "",
    ".sink",
    ".source",
    ".function",
    ".runtime",
    ".runtime.context",
    ".runtime.plugin",
)
_loading = threading.Lock()


def install_aliases() -> None:
    """``import ekuiper`` (and its submodules) resolves to this shim from now on. The real SDK,
    if installed, would serve the plugin over nng to an eKuiper process; in-process the shim
    must win."""
    for suffix in _MODULES:
        sys.modules["ekuiper" + suffix] = importlib.import_module(_SHIM + suffix)


def load_plugin(folder: Path, executable: str) -> plugin.PluginConfig:
    """Runs the plugin's main program, as ``__main__`` with its folder on ``sys.path`` (its
    modules import each other by their plain names), and returns what it passed to
    ``plugin.start``."""
    main = (folder / executable).resolve()
    if not main.is_relative_to(folder.resolve()) or not main.is_file():
        raise SinkError(f"eKuiper plugin {folder}: its executable {executable!r} is not a file in its folder")
    with _loading:
        install_aliases()
        before = len(plugin.started)
        sys.path.insert(0, str(folder))
        try:
            runpy.run_path(str(main), run_name="__main__")
        except BaseException as e:
            raise SinkError(f"eKuiper plugin {folder}: {executable} failed:\n{traceback.format_exc()}") from e
        finally:
            sys.path.remove(str(folder))
            started = plugin.started[before:]
            del plugin.started[before:]
    if not started:
        raise SinkError(f"eKuiper plugin {folder}: {executable} did not call plugin.start(PluginConfig(...))")
    return started[-1]


class _Context(EkuiperContextBase):
    """The SDK's context over a sinkbridge context; records the sink's acknowledgement."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.logger = PluginLogger(ctx.logger, {})
        self.error: str | None = None

    def get_rule_id(self) -> str:
        return self.ctx.rule_id

    def get_op_id(self) -> str:
        return self.ctx.op_id

    def get_instance_id(self) -> int:
        return self.ctx.instance_id

    def get_logger(self) -> PluginLogger:
        return self.logger

    def emit(self, message: dict[str, Any], meta: dict[str, Any]) -> None:
        raise SinkError("emit is for eKuiper sources; sinkbridge runs only the sinks of an eKuiper plugin")

    def emit_error(self, error: str) -> None:
        raise SinkError("emit_error is for eKuiper sources; sinkbridge runs only the sinks of an eKuiper plugin")

    def ack_ok(self) -> None:
        self.error = None

    def ack_error(self, error: str) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Context(rule={self.ctx.rule_id!r}, op={self.ctx.op_id!r}, instance={self.ctx.instance_id})"


class EkuiperSink(Sink):
    """One instance of an eKuiper plugin's sink, run as a sinkbridge sink."""

    def __init__(self, plugin_name: str, symbol: str, make: Any) -> None:
        self.plugin_name = plugin_name
        self.symbol = symbol
        self.inner = make()
        self.ectx: _Context | None = None

    def configure(self, props: dict[str, Any]) -> None:
        self.inner.configure(props)

    def _context(self, ctx: Context) -> _Context:
        if self.ectx is None:
            self.ectx = _Context(ctx)
        return self.ectx

    def open(self, ctx: Context) -> None:
        self.inner.open(self._context(ctx))

    def collect(self, ctx: Context, data: Any) -> None:
        ectx = self._context(ctx)
        ectx.error = None
        # eKuiper hands a portable sink the result encoded, as JSON bytes.
        payload = data.encode() if isinstance(data, str) else to_json(data).encode()
        self.inner.collect(ectx, payload)
        if ectx.error is not None:
            raise RetryableError(ectx.error)

    def close(self, ctx: Context) -> None:
        self.inner.close(self._context(ctx))

    def __repr__(self) -> str:
        return f"<eKuiper sink {self.symbol} of plugin {self.plugin_name}>"
