"""Finding Python sinks by action key. The engine calls :func:`resolve` for a key that is not
a built-in or registered sink; the order of the places searched is DESIGN.md's:

1. the plugins folder: ``<plugins_dir>/<key>.py``, or the package ``<plugins_dir>/<key>/``,
   defining exactly one :class:`~sinkbridge.Sink` subclass; or an eKuiper portable plugin,
   ``<plugins_dir>/<name>/<name>.json`` with ``"language": "python"``, whose ``sinks`` list
   names ``<key>`` (run through the eKuiper SDK shim, see docs/ekuiper-plugins.md);
2. an installed distribution's entry point named ``<key>`` in the group ``sinkbridge.sinks``;
3. a module path ``"package.module:ClassName"`` when the key contains ``:``.

Whatever is found must be a ``Sink`` subclass or a callable that takes no arguments and
returns a ``Sink``; anything else is a :class:`~sinkbridge.SinkError` at rule creation.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import json
import os
import shutil
import stat
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from ._errors import SinkError
from ._sink import Sink

__all__ = ["available", "check_sink", "install_portable", "resolve", "searched"]

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
        return _from_ekuiper_plugin(key, plugins_dir)
    origin = f"plugins folder: {plugin}"
    return _sink_class_of(_load_plugin_module(key, plugin), origin), origin


def _read_ekuiper_meta(meta_path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SinkError(f"eKuiper plugin metadata {meta_path} cannot be read: {e}") from e
    if not isinstance(meta, dict):
        raise SinkError(f"eKuiper plugin metadata {meta_path} must be a JSON object")
    sinks = meta.get("sinks", [])
    if not isinstance(sinks, list) or not all(isinstance(name, str) for name in sinks):
        raise SinkError(f"eKuiper plugin metadata {meta_path}: 'sinks' must be a list of names")
    return meta


def _ekuiper_plugins(plugins_dir: str) -> list[tuple[Path, dict[str, Any]]]:
    """The Python eKuiper portable plugins in the plugins folder: ``<name>/<name>.json``."""
    folder = Path(plugins_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        meta_path = path / f"{path.name}.json"
        if not meta_path.is_file():
            continue
        try:
            meta = _read_ekuiper_meta(meta_path)
        except SinkError:
            continue
        if str(meta.get("language", "")).lower() == "python":
            found.append((path, meta))
    return found


# Loaded eKuiper plugins, by folder: the modification times they were loaded at, and their config.
_ekuiper_loaded: dict[Path, tuple[tuple[float, float], Any]] = {}


def _from_ekuiper_plugin(key: str, plugins_dir: str) -> tuple[object, str] | None:
    for folder, meta in _ekuiper_plugins(plugins_dir):
        if key not in meta.get("sinks", []):
            continue
        from ._ekuiper_shim.host import EkuiperSink, load_plugin

        executable = str(meta.get("executable") or "")
        meta_path = folder / f"{folder.name}.json"
        origin = f"eKuiper plugin {folder.name}: {folder.resolve()}"
        main = folder / executable
        stamp = (meta_path.stat().st_mtime, main.stat().st_mtime if main.is_file() else 0.0)
        loaded = _ekuiper_loaded.get(folder.resolve())
        if loaded is None or loaded[0] != stamp:
            loaded = (stamp, load_plugin(folder, executable))
            _ekuiper_loaded[folder.resolve()] = loaded
        config = loaded[1]
        make = config.sinks.get(key)
        if make is None:
            raise SinkError(f"{origin}: its {meta_path.name} lists sink {key!r}, but {executable} does not define it")
        return functools.partial(EkuiperSink, folder.name, key, make), origin
    return None


def _from_entry_point(key: str) -> tuple[object, str] | None:
    ep = _entry_point(key)
    if ep is None:
        return None
    dist = getattr(ep, "dist", None)
    origin = f"entry point {key} = {ep.value}" + (f" of {dist.name}" if dist is not None else "")
    try:
        target = ep.load()
    except SinkError:
        # Raised on purpose by the sink's module, such as a first-party sink whose extra is
        # missing: its message says what to do.
        raise
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
        f"the eKuiper plugins in the plugins folder (a <name>/<name>.json listing {key} among its sinks)",
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
    for plugin, meta in _ekuiper_plugins(plugins_dir):
        for name in meta.get("sinks", []):
            found.append((name, f"eKuiper plugin {plugin.name}: {plugin.resolve()}"))
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.append((ep.name, f"entry point {ep.name} = {ep.value}"))
    return found


# A portable plugin is a few scripts: anything much larger is not one.
_MAX_UNPACKED = 256 * 1024 * 1024
_MAX_MEMBERS = 10_000


def _safe_members(archive: zipfile.ZipFile, name: str) -> list[tuple[zipfile.ZipInfo, str]]:
    """The archive's files and where each goes inside the plugin's folder. eKuiper's zips hold
    ``<name>.json`` at the top; a zip that wraps everything in a ``<name>/`` folder is taken too.
    Refuses absolute paths, ``..``, links, and archives too large to be a plugin."""
    infos = archive.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise SinkError(f"the plugin zip holds {len(infos)} entries, more than {_MAX_MEMBERS}")
    if sum(i.file_size for i in infos) > _MAX_UNPACKED:
        raise SinkError(f"the plugin zip unpacks to more than {_MAX_UNPACKED // (1024 * 1024)} MB")
    names = [i.filename for i in infos]
    prefix = f"{name}/" if f"{name}.json" not in names and f"{name}/{name}.json" in names else ""
    members = []
    for info in infos:
        path = info.filename.replace("\\", "/")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise SinkError(f"the plugin zip holds a link, {info.filename!r}: refused")
        if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
            raise SinkError(f"the plugin zip holds an absolute path, {info.filename!r}: refused")
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise SinkError(f"the plugin zip holds a path that leaves its folder, {info.filename!r}: refused")
        relative = "/".join(parts)
        if prefix:
            if not (relative + "/").startswith(prefix):
                raise SinkError(f"the plugin zip holds {info.filename!r} outside its {prefix} folder")
            relative = relative[len(prefix) :]
        if relative and not info.is_dir():
            members.append((info, relative))
    return members


def install_portable(name: str, zip_path: str, plugins_dir: str) -> list[str]:
    """Installs an eKuiper portable plugin (Python) from a zip into ``<plugins_dir>/<name>/``,
    as eKuiper's ``POST /plugins/portables`` does, and returns the names of its sinks.

    The zip holds ``<name>.json`` (with ``"language": "python"``, ``executable`` and ``sinks``),
    the executable and its modules. ``zip_path`` is a path or a ``file://`` URL. Nothing is
    written outside the new folder, which is created only once everything checked out; a plugin
    already installed under ``name`` is an error. Raises :class:`SinkError` saying what is wrong.
    """
    if not name or name in (".", "..") or any(c in name for c in "/\\\0") or name != name.strip():
        raise SinkError(f"invalid plugin name {name!r}")
    source = Path(zip_path.removeprefix("file://"))
    if not source.is_file():
        raise SinkError(f"the plugin zip {zip_path} does not exist")
    folder = Path(plugins_dir)
    target = folder / name
    if target.exists():
        raise SinkError(f"a plugin named {name!r} is already installed at {target.resolve()}")
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder))
    try:
        try:
            with zipfile.ZipFile(source) as archive:
                for info, relative in _safe_members(archive, name):
                    destination = staging / relative
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, destination.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
        except zipfile.BadZipFile as e:
            raise SinkError(f"{zip_path} is not a zip file: {e}") from e
        meta_path = staging / f"{name}.json"
        if not meta_path.is_file():
            raise SinkError(f"the plugin zip has no {name}.json at its top")
        meta = _read_ekuiper_meta(meta_path)
        language = str(meta.get("language", ""))
        if language.lower() != "python":
            raise SinkError(f"{name}.json says language {language!r}; only python plugins run in sinkbridge")
        executable = meta.get("executable")
        if not isinstance(executable, str) or not (staging / executable).is_file():
            raise SinkError(f"{name}.json names executable {executable!r}, which is not in the zip")
        sinks: list[str] = meta.get("sinks", [])
        if not sinks:
            raise SinkError(f"{name}.json lists no sinks")
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sinks
