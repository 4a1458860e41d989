"""How an action key finds its sink, and the errors for keys that find nothing usable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sinkbridge as sb

STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")'


def rule(key: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "r", "sql": "SELECT * FROM s", "actions": [{key: props or {}}]}


@pytest.fixture
def stream(engine: sb.Engine) -> sb.Engine:
    engine.create_stream(STREAM)
    return engine


def create_error(engine: sb.Engine, key: str) -> str:
    with pytest.raises(sb.SinkError) as caught:
        engine.create_rule(rule(key))
    assert engine.rules() == [], "nothing is created when a sink does not resolve"
    return str(caught.value)


def test_an_unknown_key_names_itself_and_every_place_searched(stream: sb.Engine, plugins_dir: Path) -> None:
    message = create_error(stream, "nosuch")
    assert message.startswith('rule "r": actions[0]: unknown sink "nosuch"; searched')
    assert "the built-in sinks (log, nop, memory, mqtt, file, rest)" in message
    assert "the sinks registered with register_sink" in message
    assert (
        f"the plugins folder ({plugins_dir.resolve() / 'nosuch.py'} or {plugins_dir.resolve() / 'nosuch'}/)" in message
    )
    assert "the entry points of group sinkbridge.sinks" in message
    assert "'package.module:ClassName'" in message


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("notasink", "must define exactly one sinkbridge.Sink subclass; found none"),
        ("twosinks", "must define exactly one sinkbridge.Sink subclass; found First, Second"),
        ("nocollect", "defines neither collect nor collect_batch"),
        (
            "collections:OrderedDict",
            "collections:OrderedDict (module path collections:OrderedDict) is not a sinkbridge.Sink subclass",
        ),
        (
            "os.path:join",
            "must be a sinkbridge.Sink subclass or a callable with no required arguments, but it requires a",
        ),
        ("json:decoder", "module path json:decoder is a module, not a sinkbridge.Sink subclass"),
        ("nosuchmodule:Sink", "module path nosuchmodule:Sink: no module named 'nosuchmodule'"),
        ("json:NoSuchClass", "module path json:NoSuchClass: module json has no attribute 'NoSuchClass'"),
    ],
)
def test_what_is_found_must_be_a_sink(stream: sb.Engine, key: str, message: str) -> None:
    assert message in create_error(stream, key)


def test_a_plugin_that_fails_to_import_shows_its_traceback(stream: sb.Engine) -> None:
    message = create_error(stream, "broken")
    assert "broken.py failed to import:" in message
    assert "Traceback (most recent call last)" in message
    assert "ImportError: this plugin needs a library that is not installed" in message


def test_register_sink_accepts_classes_and_factories(stream: sb.Engine) -> None:
    seen: list[Any] = []

    class Keep(sb.Sink):
        def configure(self, props: dict[str, Any]) -> None:
            self.tag = props["tag"]

        def collect(self, ctx: sb.Context, data: Any) -> None:
            seen.append((self.tag, data))

    stream.register_sink("keep", Keep)
    stream.register_sink("made", lambda: Keep())
    stream.create_rule(
        {"id": "r", "sql": "SELECT a FROM s", "actions": [{"keep": {"tag": "class"}}, {"made": {"tag": "factory"}}]}
    )
    stream.publish("s", {"a": 1})
    from .conftest import wait_for

    wait_for(lambda: len(seen) == 2, what="both sinks")
    assert sorted(seen) == [("class", [{"a": 1}]), ("factory", [{"a": 1}])]


def test_register_sink_refuses_what_is_not_a_sink(stream: sb.Engine) -> None:
    with pytest.raises(sb.SinkError, match=r"is not a sinkbridge\.Sink subclass"):
        stream.register_sink("bad", dict)  # type: ignore[arg-type]
    with pytest.raises(sb.SinkError, match=r"is a int, not a sinkbridge\.Sink subclass"):
        stream.register_sink("bad", 3)  # type: ignore[arg-type]

    class Fine(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            pass

    with pytest.raises(sb.SinkError, match='"log" is the name of a built-in sink'):
        stream.register_sink("log", Fine)


def test_a_factory_that_returns_something_else_fails_the_start(stream: sb.Engine) -> None:
    stream.register_sink("liar", lambda: object())
    with pytest.raises(sb.SinkError) as caught:
        stream.create_rule(rule("liar"))
    assert "not a sinkbridge.Sink" in str(caught.value)
    assert isinstance(caught.value.__cause__, TypeError)
    assert stream.rule_status("r")["status"] == "stopped"


def test_a_registered_name_comes_before_the_plugins_folder(stream: sb.Engine, plugins_dir: Path) -> None:
    class Quiet(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            pass

    stream.register_sink("recorder", Quiet)
    # The plugin recorder.py would need a "path" property; the registered sink does not.
    stream.create_rule(rule("recorder"))
    assert stream.rule_status("r")["status"] == "running"


def test_sinks_lists_what_can_be_found_without_importing(engine: sb.Engine, plugins_dir: Path) -> None:
    listed = {s["name"]: s["origin"] for s in engine.sinks()}
    assert listed["log"].startswith("built-in")
    assert listed["recorder"] == f"plugins folder: {(plugins_dir / 'recorder.py').resolve()}"
    assert listed["pkgsink"] == f"plugins folder: {(plugins_dir / 'pkgsink').resolve()}"
    assert "broken" in listed, "listing does not import, so a broken plugin is listed too"
