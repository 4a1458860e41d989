"""The asyncio side of async sinks: one event loop thread per engine, started when the
engine's first async sink starts."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    # Imported where used: asyncio is heavy, and engines without async sinks never need it.
    import asyncio

__all__ = ["is_async", "kept", "start_loop", "stop_loop"]

_LIFECYCLE = ("configure", "open", "collect", "collect_batch", "close")
T = TypeVar("T")

# asyncio holds running tasks weakly: a task that only the engine awaits (from Rust) could be
# garbage-collected mid-flight. Tasks of sink calls stay here until they finish.
_running: set[asyncio.Task[Any]] = set()


async def kept(awaitable: Awaitable[T]) -> T:
    """Awaits ``awaitable`` in a task that cannot be garbage-collected before it finishes."""
    import asyncio

    task = asyncio.current_task()
    if task is not None:
        _running.add(task)
    try:
        return await awaitable
    finally:
        if task is not None:
            _running.discard(task)


def is_async(obj: object) -> bool:
    """Whether a sink class (or instance) defines any lifecycle method with ``async def``."""
    return any(inspect.iscoroutinefunction(getattr(obj, name, None)) for name in _LIFECYCLE)


def _run(loop: asyncio.AbstractEventLoop) -> None:
    import asyncio

    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def start_loop() -> asyncio.AbstractEventLoop:
    """A new event loop, running on a daemon thread of its own until :func:`stop_loop`."""
    import asyncio

    loop = asyncio.new_event_loop()
    threading.Thread(target=_run, args=(loop,), name="sinkbridge-asyncio", daemon=True).start()
    return loop


def stop_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Stops the loop; its thread then closes it."""
    if not loop.is_closed():
        loop.call_soon_threadsafe(loop.stop)
