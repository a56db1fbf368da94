"""User text is shown as text, never as Markdown (AppTest, issue 13 security finding 4).

Streamlit renders Markdown in st.markdown / caption / warning / info / error / success / headings,
widget labels and help, metric labels and st.table cells: a `[text](https://evil.example)` there is a
clickable link and `![x](http://host/beacon)` makes every viewer's browser fetch the URL. Here an
account table whose name, owner and segment are such text, a rule set whose labels are, hostile file
names, a query parameter, a search and a threshold go through every page; each Markdown-rendered
string that carries one of them must hold it escaped (riskcore.display.md_escape), with no link,
image, autolink or HTML syntax left once the escaped characters are removed.
tests/test_browser_xss.py checks the same in Chromium (no <a href>, no request to the beacon).
"""

from __future__ import annotations

import os
import re

import pytest
from conftest import app_env

from riskcore.display import md_escape
from riskcore.rules import load_ruleset, ruleset_to_toml
from riskcore.workspace import DEFAULT_RULES

LINK = "[text](https://evil.example)"
IMAGE = "![x](http://127.0.0.1:9/beacon)"
AUTOLINK = "www.evil.example https://evil.example/bare"
HOSTILE = (LINK, IMAGE, AUTOLINK)
MARKDOWN_FIELDS = {"body", "label", "help"}  # the proto fields Streamlit renders as Markdown
APP = os.path.join(os.path.dirname(__file__), "..", "app.py")


@pytest.fixture(scope="module", autouse=True)
def hostile_table(tmp_path_factory):
    """RISKCORE_DATA: an account table whose name, owner and segment are Markdown."""
    path = tmp_path_factory.mktemp("hostile") / "accounts.csv"
    path.write_text("customerID,account_name,ARR,csm_owner,segment,Churn\n"
                    f'C1,"{LINK}",1000,"{IMAGE}","{AUTOLINK}",Yes\n'
                    "C2,Plain Co,2000,Ann,SMB,No\nC3,Other Co,3000,Ann,SMB,No\n")
    with app_env(tmp_path_factory):
        os.environ["RISKCORE_DATA"] = str(path)
        yield


def hostile_rules() -> str:
    """The default rule set with every label (rules, alerts, segments) replaced by link + image text."""
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    return re.sub(r'(?m)^label = ".*"$', f'label = "{LINK} {IMAGE}"', text)


def app(query: dict | None = None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def markdown_strings(at) -> list[str]:
    """Every string Streamlit renders as Markdown on the page: Markdown-bearing proto fields of
    every element and block (tabs, expanders), and every st.table cell."""
    from google.protobuf.json_format import MessageToDict
    found: list[str] = []

    def walk(v, key=""):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and key in MARKDOWN_FIELDS:
            found.append(v)

    for node in at._tree:
        if type(node).__name__ == "Table":
            frame = node.value
            found += [str(x) for x in [*frame.columns, *frame.index, *frame.to_numpy().ravel()]]
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            walk(MessageToDict(proto))
    return found


def assert_literal(at, *expected: str) -> None:
    """Markdown strings carrying hostile text have no live link / image / autolink / HTML syntax,
    and each `expected` text appears escaped in at least one of them."""
    strings = markdown_strings(at)
    for s in strings:
        if "evil" in s or "beacon" in s:
            live = re.sub(r"\\.", "", s)  # the Markdown syntax left once escaped characters are taken out
            for syntax in ("](", "![", "<"):
                assert syntax not in live, (syntax, s)
            displayed = re.sub(r"\\(.)", r"\1", s)  # GFM autolinks URLs in the displayed text
            assert not re.search(r"(?i)https?://|www\.", displayed), s
    for text in expected:
        assert any(md_escape(text) in s for s in strings), (text, [s for s in strings if "evil" in s])


def test_account_query_parameter_is_literal():
    for value in (LINK, IMAGE):
        at = app({"account": value})
        at.switch_page("ui/accounts.py").run()
        assert not at.exception
        assert at.warning, "the unknown id is reported"
        assert_literal(at, value)


def test_account_name_owner_and_segment_are_literal():
    at = app({"account": "C1"})
    at.switch_page("ui/accounts.py").run()
    assert not at.exception
    assert_literal(at, LINK, IMAGE, AUTOLINK)  # header (name), caption (owner, segment)


def test_list_filters_in_the_caption_are_literal():
    at = app()
    at.switch_page("ui/accounts.py").run()
    at.multiselect(key="f_owner").set_value([IMAGE])
    at.text_input(key="f_search").input(LINK).run()
    assert not at.exception
    assert_literal(at, IMAGE, LINK)  # "owner is ...; name or id contains ..."


def test_rule_labels_file_names_and_thresholds_are_literal():
    at = app()
    at.switch_page("ui/tuning.py").run()
    name = f"{LINK}.toml"
    at.file_uploader(key="import_toml").set_value((name, hostile_rules().encode(), "application/toml")).run()
    assert not at.exception
    assert_literal(at, name, f"{LINK} {IMAGE}")  # the success message; every slider's label
    rid = load_ruleset(hostile_rules()).rules[0].id
    at.text_input(key=f"threshold:{rid}").input(IMAGE).run()
    assert not at.exception and at.error
    assert_literal(at, IMAGE)  # the problem quotes what was typed
    bad = f"{IMAGE}.toml"
    at.file_uploader(key="import_toml").set_value((bad, b'name = "x"\n[[rules]]\nid = "Bad Id"\n',
                                                   "application/toml")).run()
    assert not at.exception and at.error
    assert_literal(at, bad)


def test_segment_labels_on_the_overview_are_literal():
    at = app()
    at.switch_page("ui/tuning.py").run()
    at.file_uploader(key="import_toml").set_value(("r.toml", hostile_rules().encode(), "application/toml")).run()
    at.sidebar.selectbox(key="ruleset_choice").set_value("draft")
    at.switch_page("ui/overview.py").run()
    assert not at.exception
    assert_literal(at, f"{LINK} {IMAGE}")  # behavioural segment labels in st.table


def test_data_page_file_names_and_paths_are_literal():
    at = app()
    at.switch_page("ui/data.py").run()
    name = f"{LINK}.csv"
    at.file_uploader(key="upload").set_value((name, b"customerID,ARR\nC1,10\n", "text/csv")).run()
    assert not at.exception
    assert_literal(at, name)  # "<name>: 2 columns. Check the mapping"
    at.segmented_control(key="data_source").set_value("Path on the server").run()
    at.text_input(key="data_path").input(IMAGE).run()
    at.button(key="load_path").click().run()
    assert not at.exception and at.error
    assert_literal(at, IMAGE)  # "<path>: outside the folders this server loads data from"


def test_the_check_sees_unescaped_markdown():
    """The control: the same check fails on a page that shows the text raw."""
    class Node:
        def __init__(self, body):
            from streamlit.proto.Markdown_pb2 import Markdown
            self.proto = Markdown(body=body)

    class Fake:
        _tree = [Node(f"No scored account with id {LINK!r}")]

    with pytest.raises(AssertionError):
        assert_literal(Fake())
    Fake._tree = [Node(f"No scored account with id '{md_escape(LINK)}'")]
    assert_literal(Fake(), LINK)
