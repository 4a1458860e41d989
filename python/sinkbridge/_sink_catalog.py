"""The Python sinks a server lists at ``GET /plugins/sinks``: each one's name, where it came
from and its docstring. Plugins-folder sinks are read, not imported (listing runs no plugin
code); entry-point sinks belong to installed distributions and are imported for their
docstring."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

from ._plugins import ENTRY_POINT_GROUP, available

__all__ = ["describe", "describe_json"]

_FOLDER = "plugins folder: "


def _class_docstring(source_file: Path) -> str | None:
    """The docstring of the file's first class deriving from something named ``Sink``, else the
    module's docstring."""
    try:
        tree = ast.parse(source_file.read_text(encoding="utf-8"), filename=str(source_file))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases}
            if "Sink" in bases:
                return ast.get_docstring(node) or ast.get_docstring(tree)
    return ast.get_docstring(tree)


def _entry_point_docstring(name: str) -> str | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            return inspect.getdoc(ep.load())
        except Exception as exc:  # a broken distribution should not hide the others
            return f"(cannot be imported: {type(exc).__name__}: {exc})"
    return None


def describe(plugins_dir: str) -> list[dict[str, str | None]]:
    """Every Python sink found without a key, as ``{"name", "origin", "doc"}``."""
    described: list[dict[str, str | None]] = []
    for name, origin in available(plugins_dir):
        doc: str | None = None
        if origin.startswith(_FOLDER):
            path = Path(origin[len(_FOLDER) :])
            source = path / "__init__.py" if path.is_dir() else path
            if source.suffix == ".py":
                doc = _class_docstring(source)
        elif origin.startswith("entry point "):
            doc = _entry_point_docstring(name)
        described.append({"name": name, "origin": origin, "doc": doc})
    return described


def describe_json(plugins_dir: str) -> str:
    """:func:`describe` as JSON text, for the Rust server."""
    return json.dumps(describe(plugins_dir))
