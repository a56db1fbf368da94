"""Shared pytest options (`--run-load` enables tests marked `load`, `--run-slow` those marked `slow`;
`browser` tests need /usr/bin/chromium)
and the helpers page, browser and load tests share."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Sequence

import pytest

from benchmarks import server

CHROMIUM, CHROMIUM_ARGS, free_port = server.CHROMIUM, server.CHROMIUM_ARGS, server.free_port
ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-load", action="store_true", default=False,
                     help="run the long load tests (marked `load`)")
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="run the slow size and speed checks (marked `slow`: big files, time and memory budgets)")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`-n 2 --dist loadfile` (the README's command): a module's tests share one worker (module
    fixtures are set up once), and the browser modules are one unit, so one server and one Chromium
    run at a time while the other worker runs the rest. (xdist's `loadgroup` cannot do this on
    pytest 9: it renames node ids, which pytest 9 no longer allows.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserModulesTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "browser" if Path(path).name.startswith("test_browser") else path

    return BrowserModulesTogether(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_load = config.getoption("--run-load")
    run_slow = config.getoption("--run-slow")
    has_chromium = os.path.exists(CHROMIUM)
    skip_load = pytest.mark.skip(reason="load test: run with --run-load")
    skip_slow = pytest.mark.skip(reason="slow size/speed check: run with --run-slow")
    skip_browser = pytest.mark.skip(reason=f"browser test: {CHROMIUM} is missing")
    for item in items:
        if "load" in item.keywords and not run_load:
            item.add_marker(skip_load)
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(skip_browser)


@contextlib.contextmanager
def app_env(tmp_path_factory, drop: tuple[str, ...] = ("RISKCORE_DATA",)):
    """Page tests' environment: a 400-account sample, a fresh rule-set home, `drop` unset; restored after."""
    keys = ("RISKCORE_SAMPLE_ACCOUNTS", "RISKCORE_HOME") + tuple(drop)
    old = {k: os.environ.get(k) for k in keys}
    os.environ["RISKCORE_SAMPLE_ACCOUNTS"] = "400"
    os.environ["RISKCORE_HOME"] = str(tmp_path_factory.mktemp("rulesets"))
    for k in drop:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def streamlit_server(log_path: Path, env: dict[str, str], args: Sequence[str] = (), port: int | None = None,
                     start_timeout: float = 60):
    """`streamlit run app.py` (benchmarks.server.streamlit); a server that exits or does not answer in
    `start_timeout` s fails the test with the log's tail."""
    try:
        with server.streamlit(log_path, env, args, port, start_timeout) as running:
            yield running
    except server.ServerDidNotStart as e:
        pytest.fail(str(e))


def shown(at) -> tuple[list[str], list[float]]:
    """Everything an AppTest run shows: (strings, numbers) from every element's message (Markdown
    bodies, labels, help, metric values, widget options, chart specs parsed from JSON) and every cell,
    index and column of dataframes and tables. For tests that a value appears nowhere on a page."""
    import json
    from google.protobuf.json_format import MessageToDict
    texts: list[str] = []
    numbers: list[float] = []

    def walk(v, key: str = "") -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(json.loads(x) if k == "spec" and isinstance(x, str) else x, k)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x, key)
        elif isinstance(v, bool) or v is None:
            return
        elif isinstance(v, (int, float)):
            numbers.append(float(v))
        else:
            texts.append(str(v))
            with contextlib.suppress(ValueError):
                numbers.append(float(str(v)))

    for node in at._tree:
        if type(node).__name__ in ("Dataframe", "Table"):
            frame = node.value
            walk([str(c) for c in frame.columns])
            walk([str(i) for i in frame.index])
            for col in frame.columns:
                walk([x if isinstance(x, (int, float, str)) else str(x) for x in frame[col].tolist()])
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            walk(MessageToDict(proto))
    return texts, numbers
