"""The UI's shape (issue 15): pages live in `ui/`, never in a `pages/` folder (which switches Streamlit's
legacy multipage mode on), and the UI uses Streamlit's public API only: no import of its internals
(`streamlit.runtime`, ...), no patched Streamlit attribute, no `sys.path` insertion in app.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from riskcore.access import PAGES

ROOT = Path(__file__).resolve().parent.parent
UI_FILES = [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py"))]
PUBLIC_STREAMLIT = {"streamlit", "streamlit.errors"}  # st.* and the exception classes it raises


def _imported_modules(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def test_no_pages_folder_anywhere():
    """Streamlit reads a `pages/` folder next to the entry script as legacy multipage mode; none may
    exist (nor one deeper, which a future entry script could pick up)."""
    hidden = {".git", "__pycache__", ".cache", ".pytest_cache", "node_modules"}
    found = [p for p in ROOT.rglob("pages") if p.is_dir() and not hidden & set(p.relative_to(ROOT).parts)]
    assert found == []


def test_the_ui_folder_holds_one_file_per_page():
    assert UI_FILES[1:], "ui/ is missing"
    for name in PAGES:
        assert (ROOT / "ui" / f"{name}.py").is_file(), name


def test_the_ui_imports_no_streamlit_internals():
    for path in UI_FILES:
        bad = [m for m in _imported_modules(path) if m.startswith("streamlit.") and m not in PUBLIC_STREAMLIT]
        assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"
        text = path.read_text()
        assert "PagesManager" not in text and "uses_pages_directory" not in text, path.name


def test_the_ui_does_not_touch_sys_path():
    """`streamlit run app.py` and AppTest put app.py's folder on sys.path themselves."""
    for path in UI_FILES:
        tree = ast.parse(path.read_text(), filename=str(path))
        uses = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "path"
                and isinstance(n.value, ast.Name) and n.value.id == "sys"]
        assert uses == [], f"{path.name} uses sys.path on lines {uses}"


def test_app_declares_every_page_from_ui_with_its_url():
    """Each page of riskcore.access.PAGES is an st.Page of ui/<name>.py, served at /<name> (the default,
    overview, at /): bookmarks and the browser tests use these URLs."""
    text = (ROOT / "app.py").read_text()
    for name in PAGES:
        assert f'st.Page("ui/{name}.py"' in text, name
        if name != "overview":
            assert re.search(rf'st\.Page\("ui/{name}\.py",[^)]*url_path="{name}"', text, flags=re.S), name
    assert re.search(r'st\.Page\("ui/overview\.py",[^)]*default=True', text)
