"""The sink contract: a Python class that receives a rule's results."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from ._core import ConnectionStatus

__all__ = ["ConnectionStatus", "Context", "Sink"]


@dataclass(frozen=True)
class Context:
    """What a sink knows about where it runs. One context per sink instance, passed to every
    lifecycle call.

    ``rule_id`` is the rule's id, ``op_id`` the action's operator id (the action key and its
    index in the rule's actions, such as ``"log_0"``), ``instance_id`` the instance number
    (0 unless the action runs several instances), ``logger`` a :class:`logging.Logger` named
    ``sinkbridge.rule.<rule_id>.<op_id>``, and ``state`` a dict the sink may use as it likes.

    ``connection`` reports the sink's connection to its target in the rule's status, as
    ``sink_<op_id>_<instance_id>_connection_status`` (1 connected, 0 connecting, -1
    disconnected) with ``..._connection_last_disconnected_message`` and the times of the last
    changes: call ``ctx.connection.connecting()`` when an attempt starts,
    ``ctx.connection.connected()`` once it succeeded, and
    ``ctx.connection.disconnected(message)`` when it failed or was lost. A sink that never calls
    them is reported as connected. A context built outside an engine gets a status of its own
    that is reported nowhere.
    """

    rule_id: str
    op_id: str
    instance_id: int
    logger: logging.Logger
    state: dict[str, Any] = field(default_factory=dict)
    connection: ConnectionStatus = field(default_factory=ConnectionStatus)


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
    * A sink that talks to an external system reports its connection through
      ``ctx.connection`` (see :class:`Context`): ``connecting()``, ``connected()`` and
      ``disconnected(message)``, shown in the rule's status as ``connection_status``.
    """

    def configure(self, props: dict[str, Any]) -> Awaitable[None] | None:
        """Receives the action's properties (the object after the sink's name in the rule's
        ``actions``), once, before :meth:`open`. The default keeps them as ``self.props``."""
        self.props = props
        return None

    def open(self, ctx: Context) -> Awaitable[None] | None:
        """Connects to the external system. Called once, before the first :meth:`collect`."""

    def collect(self, ctx: Context, data: Any) -> Awaitable[None] | None:
        """Receives one rule result: a list of rows (dicts), ``[row]`` for a rule without a
        window. Raise :class:`sinkbridge.RetryableError` for a transient failure.

        A sink may define ``collect_batch(ctx, items)`` instead, to receive every result of a
        delivery in one call (``items`` is a list of results). Declared with a third
        parameter, ``collect_batch(ctx, items, props)``, it also receives the action's dynamic
        properties (the string properties holding a ``{{ template }}``) as rendered for each
        item: ``props`` is a list of dicts parallel to ``items``, from property name to text.
        """

    def close(self, ctx: Context) -> Awaitable[None] | None:
        """Releases what :meth:`open` acquired. Called once on every graceful stop."""


def takes_props(collect_batch: Any) -> bool:
    """Whether a sink's ``collect_batch`` takes a third positional parameter (``props``)."""
    try:
        parameters = inspect.signature(collect_batch).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in parameters)
