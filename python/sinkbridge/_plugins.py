"""Finding Python sinks by action key. The engine calls :func:`resolve` for a key that is not
a built-in or registered sink; the order of the places searched is DESIGN.md's:

1. the plugins folder: ``<plugins_dir>/<key>.py``, or the package ``<plugins_dir>/<key>/``,
   defining exactly one :class:`~sinkbridge.Sink` subclass;
2. an installed distribution's entry point named ``<key>`` in the group ``sinkbridge.sinks``;
3. a module path ``"package.module:ClassName"`` when the key contains ``:``.

Whatever is found must be a ``Sink`` subclass or a callable that takes no arguments and
returns a ``Sink``; anything else is a :class:`~sinkbridge.SinkError` at rule creation.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from ._errors import SinkError
from ._sink import Sink

__all__ = ["available", "check_sink", "resolve", "searched"]

ENTRY_POINT_GROUP = "sinkbridge.sinks"
# Plugin modules load under this package name, so that a plugin file named like a standard
# module (``sinks/logging.py``) shadows nothing.
PLUGIN_PACKAGE = "_sinkbridge_plugins"


def _describe(obj: object) -> str:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or type(obj).__name__
    return f"{module}:{name}" if module else str(name)


def check_sink(obj: object, origin: str) -> object:
    """Returns ``obj`` if it can make sinks; raises :class:`SinkError` saying why not."""
    if inspect.isclass(obj):
        if not issubclass(obj, Sink):
            raise SinkError(
                f"{_describe(obj)} ({origin}) is not a sinkbridge.Sink subclass; "
                "subclass sinkbridge.Sink and override collect"
            )
        if obj.collect is Sink.collect and not callable(getattr(obj, "collect_batch", None)):
            raise SinkError(f"{_describe(obj)} ({origin}) defines neither collect nor collect_batch")
        return obj
    if callable(obj):
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):
            return obj
        required = [
            p
            for p in signature.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if required:
            names = ", ".join(p.name for p in required)
            raise SinkError(
                f"{_describe(obj)} ({origin}) must be a sinkbridge.Sink subclass or a callable "
                f"with no required arguments, but it requires {names}"
            )
        return obj
    raise SinkError(f"{origin} is a {type(obj).__name__}, not a sinkbridge.Sink subclass or a callable returning one")


def _import_error(what: str) -> SinkError:
    return SinkError(f"{what} failed to import:\n{traceback.format_exc()}")


def _load_plugin_module(key: str, path: Path) -> ModuleType:
    if PLUGIN_PACKAGE not in sys.modules:
        package = ModuleType(PLUGIN_PACKAGE)
        package.__path__ = []
        sys.modules[PLUGIN_PACKAGE] = package
    name = f"{PLUGIN_PACKAGE}.{key}"
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__file__", None) == str(path):
        return cached
    if path.name == "__init__.py":
        spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=[str(path.parent)])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SinkError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise _import_error(str(path)) from sys.exc_info()[1]
    return module


def _plugin_file(key: str, plugins_dir: str) -> Path | None:
    if not key.isidentifier():
        return None
    folder = Path(plugins_dir)
    for candidate in (folder / f"{key}.py", folder / key / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _sink_class_of(module: ModuleType, origin: str) -> type[Sink]:
    # Classes defined in the plugin itself (or, for a package, in its submodules), not the
    # ones it imports from elsewhere.
    own = (module.__name__, module.__name__ + ".")
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Sink)
        and obj is not Sink
        and (obj.__module__ == own[0] or obj.__module__.startswith(own[1]))
    ]
    if len(classes) != 1:
        found = ", ".join(sorted(c.__name__ for c in classes)) or "none"
        raise SinkError(f"{origin} must define exactly one sinkbridge.Sink subclass; found {found}")
    check_sink(classes[0], origin)
    return classes[0]


def _entry_point(key: str) -> Any | None:
    from importlib.metadata import entry_points  # heavy: imported when a key gets this far

    return next(iter(entry_points(group=ENTRY_POINT_GROUP, name=key)), None)


def _from_plugins_folder(key: str, plugins_dir: str) -> tuple[object, str] | None:
    plugin = _plugin_file(key, plugins_dir)
    if plugin is None:
        return None
    origin = f"plugins folder: {plugin}"
    return _sink_class_of(_load_plugin_module(key, plugin), origin), origin


def _from_entry_point(key: str) -> tuple[object, str] | None:
    ep = _entry_point(key)
    if ep is None:
        return None
    dist = getattr(ep, "dist", None)
    origin = f"entry point {key} = {ep.value}" + (f" of {dist.name}" if dist is not None else "")
    try:
        target = ep.load()
    except BaseException as exc:
        raise _import_error(origin) from exc
    return check_sink(target, origin), origin


def _from_module_path(key: str) -> tuple[object, str] | None:
    if ":" not in key:
        return None
    module_name, _, attr = key.partition(":")
    origin = f"module path {key}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise SinkError(f"{origin}: no module named {missing!r}") from exc
        raise _import_error(origin) from exc
    except BaseException as exc:
        raise _import_error(origin) from exc
    target: object = module
    for part in attr.split("."):
        if not part or not hasattr(target, part):
            raise SinkError(f"{origin}: module {module_name} has no attribute {attr!r}")
        target = getattr(target, part)
    return check_sink(target, origin), origin


def resolve(key: str, plugins_dir: str) -> tuple[object, str] | None:
    """The sink factory for ``key`` and where it came from, or ``None`` if nothing has that
    name. Raises :class:`SinkError` for something found that cannot be used."""
    return _from_plugins_folder(key, plugins_dir) or _from_entry_point(key) or _from_module_path(key)


def searched(key: str, plugins_dir: str) -> list[str]:
    """The places :func:`resolve` looked, for the "unknown sink" message."""
    folder = Path(plugins_dir).resolve()
    places = [
        f"the plugins folder ({folder / (key + '.py')} or {folder / key}/)",
        f"the entry points of group {ENTRY_POINT_GROUP}",
    ]
    if ":" in key:
        places.append(f"the module path {key}")
    else:
        places.append("module paths, which have the form 'package.module:ClassName'")
    return places


def available(plugins_dir: str) -> list[tuple[str, str]]:
    """Every Python sink found without a key: the plugins folder and the entry points.
    Only names are listed; nothing is imported."""
    found: list[tuple[str, str]] = []
    folder = Path(plugins_dir)
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix == ".py" and path.stem.isidentifier() and not path.stem.startswith("_"):
                found.append((path.stem, f"plugins folder: {path.resolve()}"))
            elif (path / "__init__.py").is_file() and path.name.isidentifier():
                found.append((path.name, f"plugins folder: {path.resolve()}"))
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.append((ep.name, f"entry point {ep.name} = {ep.value}"))
    return found
