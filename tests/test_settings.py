"""riskcore.settings: every RISKCORE_* variable declared once, read when asked (not at import), a bad
value named in the message; the README's Settings table is the declarations; nothing else in the app
or the core reads the environment."""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import pytest

from riskcore import history, security, settings, workspace
from riskcore.versions import rules_home
from riskcore.settings import SETTINGS, SettingError, get

ROOT = Path(__file__).resolve().parent.parent
NAMES = [s.name for s in SETTINGS]


@pytest.fixture
def clean_env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_each_setting_is_declared_once_with_help():
    assert len(NAMES) == len(set(NAMES)) and all(n.startswith("RISKCORE_") for n in NAMES)
    assert all(s.help.strip() and "\n" not in s.help and "|" not in s.help for s in SETTINGS)
    with pytest.raises(KeyError, match="RISKCORE_NOPE is not a riskcore setting"):
        get("RISKCORE_NOPE")


def test_defaults_when_unset_or_blank(clean_env):
    expected = {
        "RISKCORE_DATA": None,
        "RISKCORE_DATA_ROOT": (ROOT / "data", ROOT / ".cache"),
        "RISKCORE_HOME": ROOT / ".cache" / "rulesets",
        "RISKCORE_SAMPLE_ACCOUNTS": 3000,
        "RISKCORE_MEMORY_LIMIT": "1GB",
        "RISKCORE_SNAPSHOTS": None,
        "RISKCORE_MAX_POINTS": 20000,
        "RISKCORE_LIVE_HISTORY_MAX": 20000,
        "RISKCORE_STORE_WAIT": 30.0,
        "RISKCORE_LOAD_LOG": None,
    }
    assert set(expected) == set(NAMES)
    for name, value in expected.items():
        assert get(name) == value, name
        clean_env.setenv(name, "  ")  # blank is unset
        assert get(name) == value, name
    assert workspace.sample_accounts() == 3000 and workspace.data_from_env([]) is None
    assert rules_home() == ROOT / ".cache" / "rulesets"
    assert security.data_roots() == ((ROOT / "data").resolve(), (ROOT / ".cache").resolve())
    assert history.store_wait_seconds() == 30.0


def test_a_value_set_after_import_is_the_one_read(clean_env, tmp_path):
    """Read when asked: the modules were imported above, the environment changes now."""
    clean_env.setenv("RISKCORE_SAMPLE_ACCOUNTS", " 400 ")
    clean_env.setenv("RISKCORE_HOME", str(tmp_path / "home"))
    clean_env.setenv("RISKCORE_DATA", str(tmp_path / "x.csv"))
    clean_env.setenv("RISKCORE_DATA_ROOT", os.pathsep.join([str(tmp_path / "a"), "", "~/b"]))
    clean_env.setenv("RISKCORE_STORE_WAIT", "2.5")
    clean_env.setenv("RISKCORE_MEMORY_LIMIT", "512 MB")
    clean_env.setenv("RISKCORE_MAX_POINTS", "+50")
    clean_env.setenv("RISKCORE_LIVE_HISTORY_MAX", "0")
    assert workspace.sample_accounts() == 400
    assert rules_home() == tmp_path / "home"
    assert workspace.data_from_env([]) == str(tmp_path / "x.csv")
    assert workspace.data_from_env(["--data", "other.csv"]) == "other.csv"  # the command line wins
    assert get("RISKCORE_DATA_ROOT") == (tmp_path / "a", Path("~/b").expanduser())
    assert security.data_roots() == ((tmp_path / "a").resolve(), Path("~/b").expanduser().resolve())
    assert history.store_wait_seconds() == 2.5
    assert get("RISKCORE_MEMORY_LIMIT") == "512 MB" and get("RISKCORE_MAX_POINTS") == 50
    assert get("RISKCORE_LIVE_HISTORY_MAX") == 0
    clean_env.setenv("RISKCORE_STORE_WAIT", "-3")
    assert history.store_wait_seconds() == 0.0  # a negative wait is no wait


def test_load_log_is_read_at_each_load(clean_env, tmp_path):
    log = tmp_path / "loads.txt"
    workspace.log_load("first.csv")  # unset: nothing written
    clean_env.setenv("RISKCORE_LOAD_LOG", str(log))
    workspace.log_load("second.csv")
    assert log.read_text() == f"{os.getpid()} second.csv\n"


@pytest.mark.parametrize("name, raw, expects", [
    ("RISKCORE_MAX_POINTS", "abc", "a whole number >= 1"),
    ("RISKCORE_MAX_POINTS", "12.5", "a whole number >= 1"),
    ("RISKCORE_MAX_POINTS", "0", "a whole number >= 1"),
    ("RISKCORE_SAMPLE_ACCOUNTS", "3k", "a whole number >= 1"),
    ("RISKCORE_LIVE_HISTORY_MAX", "-1", "a whole number >= 0"),
    ("RISKCORE_STORE_WAIT", "soon", "a number of seconds"),
    ("RISKCORE_STORE_WAIT", "nan", "a number of seconds"),
    ("RISKCORE_MEMORY_LIMIT", "lots", "a size like '1GB' or '512MB'"),
    ("RISKCORE_MEMORY_LIMIT", "1GB'; SET x", "a size like '1GB' or '512MB'"),  # spliced into SET: checked
])
def test_a_bad_value_names_the_variable(clean_env, name, raw, expects):
    clean_env.setenv(name, raw)
    with pytest.raises(SettingError) as got:
        get(name)
    assert str(got.value) == f"{name}: expected {expects}, found {raw!r}"
    assert isinstance(got.value, ValueError)  # the CLI shows a ValueError's message as written


def test_the_history_error_keeps_its_message(clean_env):
    clean_env.setenv("RISKCORE_STORE_WAIT", "soon")
    with pytest.raises(history.HistoryError, match="RISKCORE_STORE_WAIT: expected a number of seconds, found 'soon'"):
        history.store_wait_seconds()


def test_the_examples_in_the_module_run():
    assert doctest.testmod(settings).failed == 0


def readme_settings_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Settings\n"):]
    section = section[:section.index("\n## ", 1)]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_readme_table_is_the_declarations():
    assert readme_settings_table() == settings.markdown_table()
    for name in NAMES:
        assert f"| `{name}` |" in readme_settings_table()


def _sources() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "riskcore").rglob("*.py"))]


def test_nothing_else_reads_the_environment():
    """Only riskcore/settings.py reads os.environ (the benchmark sets variables for the app it runs)."""
    read = re.compile(r"os\.getenv\(|os\.environ\.get\(|environ\[[^\]]+\](?!\s*=[^=])|os\.environ(?![.\[])")
    for path in _sources():
        if path.name == "settings.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not read.search(line), f"{path.relative_to(ROOT)}:{n}: {line.strip()}"


def test_every_riskcore_variable_named_in_the_code_is_declared():
    for path in _sources():
        named = set(re.findall(r"RISKCORE_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8")))
        assert named <= set(NAMES), f"{path.relative_to(ROOT)}: {sorted(named - set(NAMES))}"


def test_a_bad_value_is_a_message_on_the_page_not_a_traceback(tmp_path_factory, monkeypatch):
    from conftest import app_env
    from streamlit.testing.v1 import AppTest
    with app_env(tmp_path_factory):
        monkeypatch.setenv("RISKCORE_MAX_POINTS", "abc")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # drawn as text: Markdown characters escaped
    assert any("RISKCORE_MAX_POINTS: expected a whole number >= 1, found 'abc'" in m for m in shown), shown
    assert not at.metric  # the page stopped: nothing drawn from a half-read configuration
