from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.slow  # starts a real Prefect server and the web app: about 15 s
def test_serve_answers_on_both_urls_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    prefect_port, web_port = _free_port(), _free_port()
    env = dict(
        os.environ,
        PUMPURS_VAR_DIR=str(tmp_path / "var"),
        PREFECT_HOME=str(tmp_path / "p"),
        PUMPURS_CONFIG_DIR=str(REPO / "config"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "pumpurs.app.cli", "serve",
               "--prefect-port", str(prefect_port), "--web-port", str(web_port)]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    urls = [f"http://127.0.0.1:{prefect_port}/api/health", f"http://127.0.0.1:{web_port}/healthz"]
    try:
        deadline = time.monotonic() + 120
        while not all(_answers(u) for u in urls) and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.5)
        assert all(_answers(u) for u in urls)
        time.sleep(2)  # let the runner register the deployments
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert re.search(rf"^Prefect UI: +http://127.0.0.1:{prefect_port}$", output, re.M)
    assert re.search(
        rf"^Apstiprināšanas tīmekļa lietotne: +http://127.0.0.1:{web_port}$", output, re.M
    )
    assert not any(_answers(u) for u in urls)
