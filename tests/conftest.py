"""Shared pytest options: `--run-load` enables tests marked `load`; `browser` tests need /usr/bin/chromium."""

from __future__ import annotations

import contextlib
import os

import pytest

CHROMIUM = "/usr/bin/chromium"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-load", action="store_true", default=False,
                     help="run the long load tests (marked `load`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_load = config.getoption("--run-load")
    has_chromium = os.path.exists(CHROMIUM)
    skip_load = pytest.mark.skip(reason="load test: run with --run-load")
    skip_browser = pytest.mark.skip(reason=f"browser test: {CHROMIUM} is missing")
    for item in items:
        if "load" in item.keywords and not run_load:
            item.add_marker(skip_load)
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
