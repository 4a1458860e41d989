"""sinkbridge: a streaming SQL rule engine for IoT and edge data, with sinks written in Python.

Streams (in-process topics, files, ...) feed rules (one SQL statement plus a list of actions);
each action feeds the rule's results to a sink, which may be a plain Python class::

    import sinkbridge as sb

    class Print(sb.Sink):
        def collect(self, ctx, data):
            print(ctx.rule_id, data)

    with sb.Engine() as engine:
        engine.register_sink("print", Print)
        engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")')
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"print": {}}]})
        engine.publish("s", {"temperature": 21})
"""

import os as _os

# The engine allocates with mimalloc, which by default commits its arenas up front: about 9 MB
# of resident memory that a small engine never uses. Committing on demand costs nothing
# measurable here. Read when the extension loads; a value set by the user wins.
_os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")

from ._core import __version__
from ._engine import Engine
from ._errors import RetryableError, RuleError, SinkbridgeError, SinkError, SqlError, StreamError
from ._sink import Context, Sink

__all__ = [
    "Context",
    "Engine",
    "RetryableError",
    "RuleError",
    "Sink",
    "SinkError",
    "SinkbridgeError",
    "SqlError",
    "StreamError",
    "__version__",
]
