"""The ``amqp`` sink: each result (or row, with ``sendSingle``) published to RabbitMQ (AMQP
0-9-1) as persistent JSON messages, each confirmed by the broker.

================  ============================================================================
``url``           ``amqp://user:password@host:5672/vhost`` (the default is
                  ``amqp://guest:guest@127.0.0.1:5672/``)
``exchange``      the exchange; empty (the default) is the broker's default exchange, which
                  routes to the queue named by the routing key
``exchangeType``  when ``exchange`` is set, it is declared durable with this type (``direct``;
                  ``fanout``, ``topic``, ``headers``) if it does not exist
``routingKey``    the routing key; a template such as ``"alerts.{{ device }}"`` is rendered per
                  item (with ``sendSingle``, over the row)
================  ============================================================================

Messages are persistent (delivery mode 2) and published with publisher confirms and the
``mandatory`` flag: a delivery returns once the broker has taken every message. A lost or
refused connection, or a confirm that times out, raises :class:`~sinkbridge.RetryableError`
(messages confirmed before the failure are sent again with the rest: at least once); a message
the broker refuses (no queue bound for its routing key, or a nack) is an error that is not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .._errors import RetryableError
from .._sink import Context, Sink
from ._support import lost, prop_str, to_json

try:
    import aio_pika
    import aiormq
    from aio_pika import exceptions as amqp_errors
except ImportError as exc:
    from ._support import missing_extra

    raise missing_extra("amqp", "amqp") from exc

__all__ = ["AmqpSink"]

_TIMEOUT = 10.0
_TRANSIENT = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    amqp_errors.ChannelClosed,
    asyncio.TimeoutError,
    ConnectionError,
    OSError,
)


def _body(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return to_json(item).encode()


class AmqpSink(Sink):
    """Publishes to an AMQP exchange; see the module's docstring for the properties."""

    def configure(self, props: dict[str, Any]) -> None:
        self.url = prop_str(props, "url", "amqp://guest:guest@127.0.0.1:5672/")
        self.exchange_name = prop_str(props, "exchange", "")
        self.exchange_type = prop_str(props, "exchangeType", "direct")
        self.routing_key = prop_str(props, "routingKey", "")
        if not self.exchange_name and not self.routing_key:
            raise ValueError("property 'routingKey' is required with the default exchange (no 'exchange')")
        self.connection: Any = None
        self.exchange: Any = None

    async def open(self, ctx: Context) -> None:
        try:
            await self._connect(ctx)
        except RetryableError as e:
            # The rule starts anyway: its data waits in the runtime (and its cache) until the
            # broker answers.
            ctx.logger.warning("the AMQP broker is not reachable yet: %s", e)

    async def _connect(self, ctx: Context) -> Any:
        ctx.connection.connecting()
        try:
            connection = await aio_pika.connect(self.url, timeout=_TIMEOUT)
        except _TRANSIENT as e:
            raise lost(ctx, e) from e
        # on_return_raises: a mandatory message that no queue takes fails its publish.
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        if self.exchange_name:
            self.exchange = await channel.declare_exchange(self.exchange_name, self.exchange_type, durable=True)
        else:
            self.exchange = channel.default_exchange
        self.connection = connection
        ctx.connection.connected()
        return self.exchange

    async def collect_batch(self, ctx: Context, items: list[Any], props: list[dict[str, str]]) -> None:
        exchange = self.exchange
        if self.connection is None or self.connection.is_closed:
            exchange = await self._connect(ctx)
        publishes = [
            exchange.publish(
                aio_pika.Message(
                    _body(item),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=p.get("routingKey", self.routing_key),
                mandatory=True,
                timeout=_TIMEOUT,
            )
            for item, p in zip(items, props, strict=True)
        ]
        try:
            # Published together, confirmed each: the confirms arrive in one stream.
            await asyncio.gather(*publishes)
        except amqp_errors.DeliveryError as e:
            raise ValueError(f"the broker refused a message: {e}") from e
        except _TRANSIENT as e:
            await self._drop_connection(ctx)
            raise lost(ctx, e) from e

    async def _drop_connection(self, ctx: Context) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception as e:
                ctx.logger.debug("closing the lost connection: %s", e)

    async def close(self, ctx: Context) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
