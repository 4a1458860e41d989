"""The exception hierarchy: everything sinkbridge raises derives from :class:`SinkbridgeError`,
and each leaf also derives from the built-in exception it resembles, so ``except ValueError``
keeps working for code that does not know sinkbridge."""

from __future__ import annotations

__all__ = [
    "RetryableError",
    "RuleError",
    "SinkError",
    "SinkbridgeError",
    "SqlError",
    "StreamError",
]


class SinkbridgeError(Exception):
    """Base class of every sinkbridge error."""


class SqlError(SinkbridgeError, ValueError):
    """A statement that does not parse or compile; the message points at the problem."""


class RuleError(SinkbridgeError, ValueError):
    """A rule definition that is wrong (the message names the field), an unknown rule, or a
    rule that cannot start because of its source."""


class StreamError(SinkbridgeError, ValueError):
    """A stream definition that is wrong, an unknown stream, or a stream still in use."""


class SinkError(SinkbridgeError, RuntimeError):
    """A sink that cannot be found, is not a :class:`sinkbridge.Sink`, or failed to configure or
    open (the message then holds the Python traceback, and ``__cause__`` the original error)."""


class RetryableError(SinkError):
    """Raise from a sink to say "transient, try again": the data is not at fault, the target
    is (a connection dropped, a server answered 503). ``OSError`` and ``TimeoutError`` mean
    the same."""
