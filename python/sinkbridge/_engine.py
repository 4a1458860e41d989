"""The engine as Python code drives it."""

from __future__ import annotations

import atexit
import json
import os
import signal
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from types import FrameType, TracebackType
from typing import Any

from . import _core
from ._core import ManualClock
from ._plugins import check_sink
from ._sink import Sink

__all__ = ["Engine"]

_live_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _stop_live_engines() -> None:
    # Sinks run on threads attached to the interpreter: stop them before it finalises, so that
    # every sink is closed even when a script forgot to stop its engine.
    for engine in list(_live_engines):
        engine.stop()


class Engine:
    """A streaming SQL engine with its streams, rules and sinks, running in this process.

    ``data_dir`` names the folder the engine keeps data in: the sink cache (``enableCache``),
    which survives restarts and crashes. ``None`` keeps everything in memory, and then
    ``enableCache`` is refused. Streams and rules live as long as the engine object in this
    version. ``plugins_dir`` is the folder searched for ``<key>.py`` sink
    plugins (default ``sinks``, relative to the working directory). ``stop_timeout`` is how
    long stopping a rule waits for its sinks to take what is queued and close (a sink stuck in
    a call is abandoned after it, and the stop goes on). ``clock`` replaces the wall clock with a
    :class:`sinkbridge.testing.ManualClock`, for tests of rules with windows.

    Used as a context manager, entering starts the engine and leaving stops it, closing every
    sink. Rules created on a started engine start at once unless their ``triggered`` is false.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        plugins_dir: str | os.PathLike[str] = "sinks",
        *,
        stop_timeout: float = 10.0,
        clock: ManualClock | None = None,
    ):
        if data_dir is not None:
            os.makedirs(data_dir, exist_ok=True)
        self.data_dir = None if data_dir is None else os.fspath(data_dir)
        self.plugins_dir = os.fspath(plugins_dir)
        self._core = _core.Engine(self.plugins_dir, stop_timeout, self.data_dir, clock)
        self._stop_requested = threading.Event()
        _live_engines.add(self)

    # ----- streams -----

    def create_stream(self, sql: str) -> str:
        """Runs a ``CREATE STREAM`` statement; returns the stream's name."""
        return self._core.create_stream(sql)

    def drop_stream(self, name: str) -> None:
        """Drops a stream that no rule reads."""
        self._core.drop_stream(name)

    def streams(self) -> list[str]:
        """The names of the streams."""
        return self._core.streams()

    def describe_stream(self, name: str) -> dict[str, Any]:
        """The stream's fields (``None`` when schemaless), options and statement."""
        result: dict[str, Any] = json.loads(self._core.describe_stream(name))
        return result

    def set_source_conf(self, source_type: str, conf_key: str, props: Mapping[str, Any]) -> None:
        """Defines the source property set ``conf_key`` (``"default"`` applies to streams that
        name no ``CONF_KEY``), e.g. ``set_source_conf("file", "replay", {"interval": "1s"})``."""
        self._core.set_source_conf(source_type, conf_key, json.dumps(dict(props)))

    def load_source_conf_file(self, path: str | os.PathLike[str]) -> tuple[str, list[str]]:
        """Loads a sources config file in eKuiper's layout, such as ``etc/sources/mqtt.yaml``:
        top-level keys name property sets (``default`` among them) for the source type the
        file is named after. Returns that type and the keys defined."""
        return self._core.load_source_conf_file(os.fspath(path))

    # ----- rules -----

    def create_rule(self, rule: Mapping[str, Any] | str) -> str:
        """Creates a rule from eKuiper's rule JSON (a dict or its text); returns its id. On a
        started engine the rule starts too, unless ``triggered`` is false."""
        text = rule if isinstance(rule, str) else json.dumps(rule)
        return self._core.create_rule(text)

    def validate_rule(self, rule: Mapping[str, Any] | str) -> None:
        """Checks a rule as :meth:`create_rule` would, without creating it."""
        text = rule if isinstance(rule, str) else json.dumps(rule)
        self._core.validate_rule(text)

    def start_rule(self, rule_id: str) -> None:
        """Starts a rule: its sinks are created, configured and opened, then data flows."""
        self._core.start_rule(rule_id)

    def stop_rule(self, rule_id: str) -> None:
        """Stops a rule; what is queued reaches its sinks, then they are closed."""
        self._core.stop_rule(rule_id)

    def delete_rule(self, rule_id: str) -> None:
        """Stops and removes a rule."""
        self._core.delete_rule(rule_id)

    def rules(self) -> list[dict[str, Any]]:
        """Every rule as ``{"id", "name", "status", "tags"}``."""
        result: list[dict[str, Any]] = json.loads(self._core.rules())
        return result

    def rule_status(self, rule_id: str) -> dict[str, Any]:
        """The rule's status with eKuiper's keys: ``status``, ``message``, and
        ``{source|op|sink}_{opId}_{instance}_{metric}`` for every operator."""
        result: dict[str, Any] = json.loads(self._core.rule_status(rule_id))
        return result

    # ----- sinks and data -----

    def register_sink(self, name: str, sink: type[Sink] | Callable[[], Sink]) -> None:
        """Makes ``sink`` (a :class:`Sink` subclass, or a callable with no arguments that
        returns one) usable as the action key ``name``."""
        check_sink(sink, f"registered as {name!r}")
        self._core.register_sink(name, sink)

    def sinks(self) -> list[dict[str, str]]:
        """The sinks found without a key: built-in, registered, plugins folder, entry points."""
        return [{"name": name, "origin": origin} for name, origin in self._core.sinks()]

    def publish(self, topic: str, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> int:
        """Publishes a row (a dict) or rows (a list of dicts) to an in-process topic, read by
        streams of ``TYPE="memory"``. Waits while a reading rule's buffer is full. Returns how
        many subscriptions received the rows (0 when no running rule reads the topic)."""
        return self._core.publish(topic, data)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Waits until everything published so far has passed through the rules and the sinks'
        calls for it have returned, for at most ``timeout`` seconds; returns whether it got
        there. Results that a sink keeps retrying (or has cached) are not through. Rows that
        went into a window are through once they are in it: the window's result comes when it
        closes (with a :class:`~sinkbridge.testing.ManualClock`, when the clock is advanced)."""
        return self._core.wait_idle(timeout)

    # ----- lifecycle -----

    def start(self) -> None:
        """Starts every rule whose ``triggered`` state is true. A rule that fails to start does
        not keep the others from starting; the error raised names each failure."""
        self._stop_requested.clear()
        self._core.start()

    def stop(self) -> None:
        """Stops every rule, closing their sinks; a later :meth:`start` resumes them."""
        self._stop_requested.set()
        self._core.stop()

    def run(self) -> None:
        """Starts the engine and blocks until Ctrl-C, SIGTERM (when called from the main
        thread) or :meth:`stop` from another thread; then stops cleanly and returns."""
        previous: Any = None
        on_main_thread = threading.current_thread() is threading.main_thread()
        if on_main_thread:

            def on_sigterm(signum: int, frame: FrameType | None) -> None:
                self._stop_requested.set()

            previous = signal.signal(signal.SIGTERM, on_sigterm)
        try:
            self.start()
            # A timed wait, so that Ctrl-C (KeyboardInterrupt) is seen promptly.
            while not self._stop_requested.wait(0.25):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if on_main_thread:
                # None: the previous handler was not set from Python; the default is closest.
                signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
            self.stop()

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
