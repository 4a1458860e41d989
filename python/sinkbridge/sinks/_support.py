"""What the first-party sinks share: reading properties, flattening results into rows, JSON
encoding, and reporting a lost connection."""

from __future__ import annotations

import base64
import datetime
import decimal
import json
from collections.abc import Iterator, Mapping
from typing import Any

from .._errors import RetryableError, SinkError
from .._sink import Context

__all__ = [
    "lost",
    "missing_extra",
    "prop_bool",
    "prop_int",
    "prop_str",
    "rows_of",
    "to_json",
]


def missing_extra(sink: str, extra: str) -> SinkError:
    """The error for a sink whose client library is not installed."""
    return SinkError(
        f"the {sink} sink needs its client library, which is not installed: pip install 'sinkbridge[{extra}]'"
    )


def prop_str(props: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = props.get(name, default)
    if value is None:
        raise ValueError(f"property {name!r} is required")
    if not isinstance(value, str):
        raise ValueError(f"property {name!r} must be a string, not {type(value).__name__}")
    return value


def prop_int(props: Mapping[str, Any], name: str, default: int) -> int:
    value = props.get(name, default)
    # eKuiper's examples write numbers as strings too ("db": "1").
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"property {name!r} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"property {name!r} must be an integer, not {value!r}") from None


def prop_bool(props: Mapping[str, Any], name: str, default: bool) -> bool:
    value = props.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"property {name!r} must be true or false, not {value!r}")


def rows_of(items: list[Any]) -> Iterator[dict[str, Any]]:
    """The rows of a delivery, in order: a result is a list of rows, one row (``sendSingle``),
    or the JSON text a ``dataTemplate`` rendered."""
    for item in items:
        yield from _rows(item)


def _rows(item: Any) -> Iterator[dict[str, Any]]:
    if isinstance(item, dict):
        yield item
    elif isinstance(item, list):
        for row in item:
            yield from _rows(row)
    elif isinstance(item, (str, bytes)):
        try:
            parsed = json.loads(item)
        except ValueError:
            raise ValueError(f"expected rows, or JSON text of rows, but got {item!r:.80}") from None
        yield from _rows(parsed)
    else:
        raise ValueError(f"expected a row (an object), but got {type(item).__name__}: {item!r:.80}")


def _default(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """Compact JSON, as eKuiper encodes results: bytes as base64, datetimes as ISO 8601."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)


def lost(ctx: Context, error: BaseException) -> RetryableError:
    """Reports the connection as lost and returns the error that asks for a retry."""
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    ctx.connection.disconnected(message)
    return RetryableError(message)
