"""First-party sinks for external systems, written on the public :class:`sinkbridge.Sink` API:
``redis``, ``sql`` (PostgreSQL, MySQL/MariaDB, SQLite), ``nats`` and ``amqp``.

Each is registered as an entry point of the group ``sinkbridge.sinks`` under its name, so an
action key such as ``{"redis": {...}}`` finds it; its client library comes with an extra
(``pip install 'sinkbridge[redis]'``). They are also the reference examples of a good sink:
async clients, ``collect_batch``, bound parameters, transient errors raised as
:class:`sinkbridge.RetryableError`, and the connection reported through ``ctx.connection``.
See docs/python-sinks.md.
"""
