"""The Data page (AppTest) over the bad-input corpus and the server-path restriction.

Each file of tests/data/bad goes through the page's own upload path (file_uploader -> mapping form
-> "Load this file"). What the page must show comes from the README's bad-input table (outcome, row, column,
quoted message), written independently of the page: a rejected file names file, row and column,
never raises, and leaves the previous data active; a loadable one becomes active and locked down.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import app_env, shown
from test_security import SECRET, _evil_duckdb, _linked_folder, secret  # noqa: F401 (fixture)

from riskcore.display import md_escape

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
BAD = ROOT / "tests" / "data" / "bad"
TIMEOUT = 120
NEEDS_CLI_OPTION = {"missing_mapped_column.csv", "canonical_clash.csv"}  # bad only with an explicit mapping
REFUSED_BY_UPLOADER = {"unknown_extension.json"}  # the file picker only offers the account-table types


def readme_expectations() -> dict[str, dict]:
    """file -> {outcome, row, column, quote} from the README table."""
    out = {}
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Account tables (`tests/data/bad/`)"):text.index("### Rule sets (`tests/data/bad_rules/`)")]
    for line in section.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (.*) \| ([^|]+) \|$", line)
        if not m:
            continue
        name, text, outcome = m.groups()
        where = re.match(r"row (\d+)(?:, column (\w+))?", text)
        quote = re.search(r'"([^"]+)"', text)
        out[name] = {"error": outcome.strip() == "error",
                     "row": int(where.group(1)) if where else None,
                     "column": where.group(2) if where else None,
                     "quote": quote.group(1).split("...")[0].strip() if quote else None}
    return out


EXPECTED = readme_expectations()
CORPUS = sorted(p.name for p in BAD.iterdir() if p.name != "README.md")


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    """A 400-account sample and a fresh rule-set home for this module."""
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA", "RISKCORE_DATA_ROOT")):
        yield


def data_page():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("ui/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def report_frame(at) -> pd.DataFrame | None:
    for df in at.dataframe:
        if {"severity", "file", "row", "column", "message"} <= set(df.value.columns):
            return df.value
    return None


def test_readme_lists_every_corpus_file():
    assert set(CORPUS) == set(EXPECTED), set(CORPUS) ^ set(EXPECTED)


@pytest.mark.parametrize("name", [n for n in CORPUS if n not in REFUSED_BY_UPLOADER])
def test_corpus_file_through_the_upload(name):
    from riskcore.security import is_locked
    exp = EXPECTED[name]
    at = data_page()
    before = at.session_state["_ctx"]
    assert is_locked(before.store)  # the shared store the app scores with is locked after load
    at.file_uploader(key="upload").set_value((name, (BAD / name).read_bytes(), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    if not at.error:  # readable: the mapping form (or the no-preview variant) offers the load
        at.button(key="load_upload").click().run()
        assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    after = at.session_state["_ctx"]
    frame = report_frame(at)
    shown = " ".join(errors) + (" " + " ".join(map(str, frame.to_numpy().ravel())) if frame is not None else "")
    assert ".cache" not in shown and "uploads/" not in shown, shown  # the user's file name, not a server path

    if exp["error"] and name not in NEEDS_CLI_OPTION:
        assert any(md_escape(f"{name} was rejected") in e and "stays active" in e for e in errors), errors
        assert after.store is before.store and after.data_key == before.data_key
        assert frame is not None, "rejected without a report table"
        bad = frame[frame["severity"] == "error"]
        assert not bad.empty and (bad["file"] == name).all(), bad.to_dict("records")
    else:
        assert not errors, errors
        assert any(md_escape(f"{name} is now active") in s.value for s in at.success), [s.value for s in at.success]
        assert after.store is not before.store and after.store.dataset.kind == "account_table"
        assert is_locked(after.store)
        bad = frame[frame["severity"] == "warning"] if frame is not None else pd.DataFrame()
    if exp["quote"] and name not in NEEDS_CLI_OPTION:
        assert frame is not None and frame["message"].str.contains(exp["quote"], regex=False).any(), \
            (exp["quote"], frame["message"].tolist() if frame is not None else None)
    if exp["row"] is not None and name not in NEEDS_CLI_OPTION:
        rows = bad[bad["row"] == exp["row"]]
        assert not rows.empty, (exp, bad.to_dict("records"))
        if exp["column"]:
            assert (rows["column"] == exp["column"]).any(), (exp, rows.to_dict("records"))


def test_file_types_the_uploader_refuses():
    """A .json never reaches the page: the picker offers only these types and Streamlit's server
    refuses a forged upload of another type before the page runs."""
    at = data_page()
    up = at.file_uploader(key="upload")
    allowed = set(up.proto.type)
    assert ".json" not in allowed and {".csv", ".parquet", ".xlsx"} <= allowed


def test_rejected_upload_keeps_an_uploaded_dataset_active():
    """The previous data is whatever was active, not only the sample."""
    at = data_page()
    good = (BAD / "bom.csv").read_bytes()
    at.file_uploader(key="upload").set_value(("good.csv", good, "text/csv")).run()
    at.button(key="load_upload").click().run()
    active = at.session_state["_ctx"]
    assert active.data_key.endswith(".csv") and active.store.dataset.kind == "account_table"
    at.file_uploader(key="upload").set_value(("dup.csv", (BAD / "duplicate_ids.csv").read_bytes(), "text/csv")).run()
    at.button(key="load_upload").click().run()
    assert not at.exception
    assert at.session_state["_ctx"].store is active.store
    assert any(md_escape("dup.csv was rejected") in e and md_escape("(good.csv) stays active") in e
               for e in (e.value for e in at.error)), \
        [e.value for e in at.error]


# ---- the "Path on the server" input ---------------------------------------------------------------

def load_server_path(at, text: str):
    at.segmented_control(key="data_source").set_value("Path on the server").run()
    at.text_input(key="data_path").input(text).run()
    at.button(key="load_path").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("path", ["/etc/passwd", str(ROOT / "README.md"), str(ROOT / "data" / ".." / "app.py"),
                                  str(BAD / "bom.csv")])
def test_server_path_outside_the_data_roots_is_refused(path):
    at = data_page()
    before = at.session_state["_ctx"]
    load_server_path(at, path)
    assert any("outside the folders this server loads data from" in e.value and md_escape("RISKCORE_DATA_ROOT") in e.value
               for e in at.error), [e.value for e in at.error]
    assert at.session_state["_ctx"].store is before.store


def test_server_path_inside_the_configured_root_loads(tmp_path, monkeypatch):
    root = tmp_path / "exports"
    root.mkdir()
    (root / "accounts.csv").write_bytes((BAD / "bom.csv").read_bytes())
    monkeypatch.setenv("RISKCORE_DATA_ROOT", str(root))
    at = data_page()
    load_server_path(at, str(root / "accounts.csv"))
    assert not at.error, [e.value for e in at.error]
    c = at.session_state["_ctx"]
    assert c.data_key == str((root / "accounts.csv").resolve()) and c.store.dataset.kind == "account_table"


def test_check_server_path_resolves_links_and_dots(tmp_path, monkeypatch):
    import sys
    sys.path.insert(0, str(ROOT))
    from ui.access import check_server_path, data_roots
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("id\n1\n")
    (root / "link.csv").symlink_to(outside / "secret.csv")
    (root / "ok.csv").write_text("id\n1\n")
    monkeypatch.setenv("RISKCORE_DATA_ROOT", f"{root}{os.pathsep}{tmp_path / 'second'}")
    assert data_roots() == (root.resolve(), (tmp_path / "second").resolve())
    assert check_server_path(str(root / "ok.csv")) == ((root / "ok.csv").resolve(), "")
    assert check_server_path(str(root / "link.csv"))[0] is None  # a link out of the root
    assert check_server_path(str(root / ".." / "outside" / "secret.csv"))[0] is None
    assert check_server_path("")[0] is None and check_server_path("a\x00b")[0] is None
    monkeypatch.delenv("RISKCORE_DATA_ROOT")
    assert data_roots() == ((ROOT / "data").resolve(), (ROOT / ".cache").resolve())


# ---- what a server path may read (issue 13, security findings 1 and 2) -------------------------------

@pytest.mark.parametrize("kind", ["linked folder", "duckdb view"])
def test_server_path_never_reads_or_shows_a_file_outside_the_roots(kind, tmp_path, secret, monkeypatch):  # noqa: F811
    """A folder inside the data root whose accounts.csv links to a file outside it, and a DuckDB file
    inside it whose `accounts` view reads that file: both rejected, the file named and the reason
    given, nothing of the outside file anywhere on the page, the previous data still active."""
    if kind == "linked folder":
        path, file, why = _linked_folder(tmp_path, secret), "accounts.csv", "symbolic link to a file outside"
    else:
        (tmp_path / "root").mkdir()
        path = _evil_duckdb(tmp_path / "root" / "evil.duckdb", secret)
        file, why = "evil.duckdb:accounts", "the view 'accounts' reads files outside the DuckDB file"
    monkeypatch.setenv("RISKCORE_DATA_ROOT", str(tmp_path / "root"))
    at = data_page()
    before = at.session_state["_ctx"]
    load_server_path(at, str(path))
    assert any("was rejected" in e.value and "stays active" in e.value for e in at.error), [e.value for e in at.error]
    frame = report_frame(at)
    assert frame is not None and ((frame["file"] == file) & frame["message"].str.contains(why)).any(), frame
    texts, _ = shown(at)
    page = "\n".join(texts)
    for leak in (SECRET, "root:x:", "/bin/", str(secret), "Permission", "Exception"):
        assert leak not in page, leak
    assert at.session_state["_ctx"].store is before.store


def test_server_path_with_pattern_characters_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "exp[12]"
    folder.mkdir()
    (folder / "accounts.csv").write_bytes((BAD / "bom.csv").read_bytes())
    monkeypatch.setenv("RISKCORE_DATA_ROOT", str(tmp_path))
    at = data_page()
    before = at.session_state["_ctx"]
    load_server_path(at, str(folder / "accounts.csv"))
    assert any(md_escape("*, ? or [") in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["_ctx"].store is before.store
