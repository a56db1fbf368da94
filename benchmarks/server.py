"""Start `streamlit run <script>` on a free local port and stop it afterwards: one launcher for the
browser tests (tests/conftest.py) and the browser benchmark (benchmarks/browser.py)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class ServerDidNotStart(RuntimeError):
    """The server exited or did not answer its health check in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit(log_path: Path, env: dict[str, str], args: Sequence[str] = (), port: int | None = None,
              start_timeout: float = 60, script: Path = REPO / "app.py", cwd: Path = REPO
              ) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run script` on 127.0.0.1 with `env`, output in `log_path`; yields (url, process) once
    /_stcore/health answers (else raises ServerDidNotStart with the log's tail)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             *args], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + start_timeout
            while True:
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    raise ServerDidNotStart(f"streamlit did not start:\n"
                                            f"{Path(log_path).read_text(errors='replace')[-3000:]}")
                time.sleep(0.1)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
