"""The sink contract: a Python class that receives a rule's results."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Context", "Sink"]


@dataclass(frozen=True)
class Context:
    """What a sink knows about where it runs. One context per sink instance, passed to every
    lifecycle call.

    ``rule_id`` is the rule's id, ``op_id`` the action's operator id (the action key and its
    index in the rule's actions, such as ``"log_0"``), ``instance_id`` the instance number
    (0 unless the action runs several instances), ``logger`` a :class:`logging.Logger` named
    ``sinkbridge.rule.<rule_id>.<op_id>``, and ``state`` a dict the sink may use as it likes.
    """

    rule_id: str
    op_id: str
    instance_id: int
    logger: logging.Logger
    state: dict[str, Any] = field(default_factory=dict)


class Sink:
    """Base class of Python sinks. Subclass it and override :meth:`collect` (or
    :meth:`collect_batch`); the other methods are optional.

    Lifecycle guarantees, per sink instance:

    * The instance is created with no arguments when its rule starts (a new instance for every
      start), then :meth:`configure` is called once with the action's properties, then
      :meth:`open` once, then :meth:`collect` for each result, then :meth:`close`.
    * Every call of one instance happens on the same thread (a worker thread owned by the
      engine), one at a time, in that order: no locking is needed inside a sink.
    * :meth:`open` is called before the first :meth:`collect`; :meth:`close` is called once
      on every graceful stop (stopping or deleting the rule, stopping the engine, leaving an
      ``Engine`` context), after every result already queued for the sink was collected.
      :meth:`close` is not called when :meth:`configure` or :meth:`open` raised.
    * An exception in :meth:`configure` or :meth:`open` fails the rule's start; the error
      raised to the caller holds the Python traceback. An exception in :meth:`collect` is
      counted in the rule's status (``exceptions_total``, ``last_exception``), logged, and
      the sink keeps receiving data.
    * The engine never holds a lock of its own while it calls into the sink, and never holds
      the GIL while it waits.
    """

    def configure(self, props: dict[str, Any]) -> None:
        """Receives the action's properties (the object after the sink's name in the rule's
        ``actions``), once, before :meth:`open`. The default keeps them as ``self.props``."""
        self.props = props

    def open(self, ctx: Context) -> None:
        """Connects to the external system. Called once, before the first :meth:`collect`."""

    def collect(self, ctx: Context, data: Any) -> None:
        """Receives one rule result: a list of rows (dicts), ``[row]`` for a rule without a
        window. Raise :class:`sinkbridge.RetryableError` for a transient failure."""

    def close(self, ctx: Context) -> None:
        """Releases what :meth:`open` acquired. Called once on every graceful stop."""
