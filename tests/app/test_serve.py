from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from pumpurs.app.demo.world import demo_settings
from pumpurs.approvals.tokens import approval_url
from pumpurs.generate import generate
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import load_context
from tests.approvals.factory import issue_links, submitted_plan

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


@pytest.mark.slow  # a real Prefect server and the web app on the demo's world: about 20 s
def test_serve_demo_serves_the_demos_database_and_files_mail_after_the_demos(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    base = Settings(_env_file=None, var_dir=var)
    generate("small", 1, var / "demo" / "data", SemesterCode.parse("2026/2027-1"))
    world = demo_settings(base, "http://127.0.0.1:1", "127.0.0.1", 1)
    context = load_context(world)  # the demo's database, as `make demo` leaves it
    plan = submitted_plan(context, context.config.schools[0].code, "S-DEMO")
    link = approval_url(world, issue_links(context)[plan]).split("/a/")[1]
    (var / "outbox").mkdir()
    (var / "outbox" / "000042.eml").write_bytes(b"the demo's last message")
    prefect_port, web_port = _free_port(), _free_port()
    env = dict(os.environ, PUMPURS_VAR_DIR=str(var), PREFECT_HOME=str(tmp_path / "p"),
               PUMPURS_CONFIG_DIR=str(REPO / "config"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "pumpurs.app.cli", "serve", "--demo",
               "--prefect-port", str(prefect_port), "--web-port", str(web_port)]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    mail = re.compile(r"^Pasta serveris \(katra vēstule → \.eml fails\): +127\.0\.0\.1:(\d+) → "
                      rf"{re.escape(str(var / 'outbox'))}$")  # fmt: skip
    web = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 120
        while not any(mail.match(line.rstrip()) for line in lines) and time.monotonic() < deadline:
            assert process.poll() is None, "".join(lines)
            time.sleep(0.5)
        (port,) = [int(m[1]) for line in lines if (m := mail.match(line.rstrip()))]
        assert _answers(f"{web}/a/{link}")  # the plan in the demo's database, not in ./var's
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@x.example", "Sveiki"
        message.set_content("Labdien!")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(10)
    assert process.returncode == 0, "".join(lines)
    assert sorted(p.name for p in (var / "outbox").iterdir()) == ["000042.eml", "000043.eml"]
    assert not (var / "pumpurs.db").exists()  # the operator's database was never touched
