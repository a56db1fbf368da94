"""Every dependency is pinned: a fresh venv installed with constraints.txt gives the README's numbers."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _names(path: Path) -> set[str]:
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        out.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return out


def test_every_requirement_is_pinned_in_constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    wanted = set()
    for req in ROOT.glob("requirements*.txt"):
        wanted |= _names(req)
    assert wanted, "no requirements found"
    assert not wanted - set(pins), f"not pinned in constraints.txt: {sorted(wanted - set(pins))}"
    for core in ("numpy", "duckdb", "pandas", "scikit-learn", "scipy", "pyarrow", "streamlit"):
        assert core in pins


def test_ci_and_readme_install_with_constraints():
    assert "-c constraints.txt" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("```")[1]
    assert head.count("-c constraints.txt") == 2


def test_ci_runs_the_readmes_test_command():
    """`.ci/run` runs exactly the test command the README's second line gives."""
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("```")[1]
    readme_cmd = next(line for line in head.splitlines() if "pytest" in line).split("&&")[1].split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_cmd in [line.strip() for line in ci], (readme_cmd, ci)
