"""eKuiper portable plugins written for eKuiper's Python SDK (`from ekuiper import Sink, Context`)
run unchanged: from the plugins folder, and installed from a zip with `install_portable`."""

from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
import sinkbridge as sb
from sinkbridge._plugins import available, install_portable

from .conftest import ROOT, wait_for
from .sink_services import STREAM

PLUGIN = ROOT / "tests" / "ekuiper" / "pysam"


def make_zip(path: Path, files: dict[str, bytes | str], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def plugin_files(prefix: str = "") -> dict[str, bytes | str]:
    return {prefix + p.name: p.read_bytes() for p in PLUGIN.iterdir() if p.is_file() and p.suffix in (".py", ".json")}


def run_flaky(engine: sb.Engine, out: Path, failures: int) -> None:
    engine.create_stream(STREAM)
    action = {"flaky": {"path": str(out), "failures": failures, "resendInterval": 10, "sendSingle": True}}
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [action]})
    engine.publish("in", [{"i": i, "s": "é"} for i in range(10)])


def test_a_plugin_in_the_plugins_folder_runs_unchanged(
    engine: sb.Engine, plugins_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(PLUGIN, plugins_dir / "pysam")
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"print": {}}]})
    engine.publish("in", {"device": "d1", "temperature": 31.5})
    assert engine.wait_idle()
    engine.delete_rule("r")
    out = capfd.readouterr().out
    assert "configure print sink" in out
    assert "open print sink:  Context(rule='r', op='print_0', instance=0)" in out
    # The result as eKuiper hands it to a portable sink: JSON bytes.
    assert """receive:  b'[{"device":"d1","temperature":31.5}]'""" in out
    assert "closing print sink" in out


def test_ack_error_means_try_again(engine: sb.Engine, plugins_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(PLUGIN, plugins_dir / "pysam")
    out = tmp_path / "out.jsonl"
    run_flaky(engine, out, failures=3)
    assert engine.wait_idle()
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == [
        {"i": i, "s": "é"} for i in range(10)
    ]
    status = engine.rule_status("r")
    assert status["sink_flaky_0_0_retries_total"] == 3
    assert status["sink_flaky_0_0_dead_letter_total"] == 0
    assert status["sink_flaky_0_0_last_exception"].startswith("RetryableError: target busy")


def test_the_plugins_sinks_are_listed_without_being_loaded(plugins_dir: Path) -> None:
    shutil.copytree(PLUGIN, plugins_dir / "pysam")
    listed = dict(available(str(plugins_dir)))
    assert listed["print"] == listed["flaky"] == f"eKuiper plugin pysam: {(plugins_dir / 'pysam').resolve()}"
    assert "pyjson" not in listed  # a source, not a sink


def test_a_plugin_installed_from_a_zip_runs(engine: sb.Engine, plugins_dir: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "pysam.zip", plugin_files())
    assert install_portable("pysam", f"file://{archive}", str(plugins_dir)) == ["print", "flaky"]
    assert (plugins_dir / "pysam" / "pysam.json").is_file()
    out = tmp_path / "out.jsonl"
    run_flaky(engine, out, failures=1)
    wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 10, what="every row")
    assert {"flaky", "print"} <= {s["name"] for s in engine.sinks()}


def test_a_zip_that_wraps_the_plugin_in_its_folder_is_taken_too(plugins_dir: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "pysam.zip", plugin_files("pysam/"))
    assert install_portable("pysam", str(archive), str(plugins_dir)) == ["print", "flaky"]
    assert (plugins_dir / "pysam" / "flaky.py").is_file()


@pytest.mark.parametrize(
    ("files", "links", "message"),
    [
        ({"pysam.json": "{}", "../evil.py": "x"}, None, "leaves its folder"),
        ({"pysam.json": "{}", "a/../../evil.py": "x"}, None, "leaves its folder"),
        ({"pysam.json": "{}", "/etc/evil.py": "x"}, None, "absolute path"),
        ({"pysam.json": "{}"}, {"link": "/etc/passwd"}, "a link"),
        ({"other.json": "{}"}, None, "no pysam.json"),
        ({"pysam.json": "not json"}, None, "cannot be read"),
        (
            {"pysam.json": json.dumps({"language": "go", "executable": "x", "sinks": ["s"]}), "x": ""},
            None,
            "only python plugins",
        ),
        (
            {"pysam.json": json.dumps({"language": "python", "executable": "main.py", "sinks": ["s"]})},
            None,
            "not in the zip",
        ),
        (
            {"pysam.json": json.dumps({"language": "python", "executable": "main.py"}), "main.py": ""},
            None,
            "lists no sinks",
        ),
    ],
)
def test_install_portable_refuses_what_is_not_a_safe_python_plugin(
    plugins_dir: Path, tmp_path: Path, files: dict[str, bytes | str], links: dict[str, str] | None, message: str
) -> None:
    archive = make_zip(tmp_path / "bad.zip", files, links)
    before = sorted(os.listdir(plugins_dir))
    with pytest.raises(sb.SinkError, match=message):
        install_portable("pysam", str(archive), str(plugins_dir))
    # Nothing was left behind, inside the plugins folder or next to it.
    assert sorted(os.listdir(plugins_dir)) == before
    assert not (tmp_path / "evil.py").exists()


def test_install_portable_refuses_a_bad_name_a_missing_zip_a_non_zip_and_a_second_install(
    plugins_dir: Path, tmp_path: Path
) -> None:
    archive = make_zip(tmp_path / "pysam.zip", plugin_files())
    with pytest.raises(sb.SinkError, match="invalid plugin name"):
        install_portable("../pysam", str(archive), str(plugins_dir))
    with pytest.raises(sb.SinkError, match="does not exist"):
        install_portable("pysam", str(tmp_path / "missing.zip"), str(plugins_dir))
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(sb.SinkError, match="is not a zip file"):
        install_portable("pysam", str(tmp_path / "text.zip"), str(plugins_dir))
    install_portable("pysam", str(archive), str(plugins_dir))
    with pytest.raises(sb.SinkError, match="already installed"):
        install_portable("pysam", str(archive), str(plugins_dir))


def test_a_plugin_whose_main_program_fails_shows_its_traceback(engine: sb.Engine, plugins_dir: Path) -> None:
    folder = plugins_dir / "broken"
    folder.mkdir()
    (folder / "broken.json").write_text(json.dumps({"language": "python", "executable": "main.py", "sinks": ["b"]}))
    (folder / "main.py").write_text("raise RuntimeError('no luck')\n")
    engine.create_stream(STREAM)
    with pytest.raises(sb.SinkError, match=r"(?s)main.py failed.*RuntimeError: no luck"):
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"b": {}}]})
