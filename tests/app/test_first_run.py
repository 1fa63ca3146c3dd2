"""The first command on a fresh machine: a fresh clone, an empty PREFECT_HOME, no Prefect
server. Prefect then starts its temporary server, whose first start creates its database; on a
busy machine that took longer than Prefect waits by default and the command failed. Ten times
in a row, each with an empty PREFECT_HOME and a new application database, it must not."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pumpurs.generate import generate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode

pytestmark = pytest.mark.slow  # ten first starts of Prefect: several minutes

REPO = Path(__file__).resolve().parents[2]
SEMESTER = SemesterCode.parse("2026/2027-1")
RUNS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clone the repository's committed HEAD and install it as `make setup` does, from uv's
    cache (no network): a new .venv with nothing compiled yet."""
    folder = tmp_path_factory.mktemp("fresh") / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(folder)],
                   check=True, timeout=120)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    uv = [str(REPO / ".venv" / "bin" / "uv"), "sync", "--locked", "--offline", "--quiet"]
    done = subprocess.run([*uv, "--python", sys.executable], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not list((folder / ".venv").rglob("*.pyc"))
    return folder


def test_the_first_command_on_a_fresh_clone_passes_ten_times_in_a_row(
    clone: Path, tmp_path: Path, smtp: SmtpSink
) -> None:
    data = tmp_path / "data"
    schools = generate("small", 1, data, SEMESTER).as_dict()["schools"]
    for run in range(RUNS):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_", "PUMPURS_")) and k != "VIRTUAL_ENV"}  # fmt: skip
        env.update(
            PYTHONDONTWRITEBYTECODE="1",  # as this machine's environment says
            PREFECT_HOME=str(tmp_path / f"prefect-{run}"),  # empty: a first start
            PREFECT_SERVER_API_PORT=str(_free_port()),  # no server of this machine answers
            PUMPURS_VAR_DIR=str(tmp_path / f"var-{run}"),
            PUMPURS_CONFIG_DIR=str(data / "config"),
            PUMPURS_INBOX_DIR=str(data / "inbox"),
            PUMPURS_SMTP_HOST=smtp.host,
            PUMPURS_SMTP_PORT=str(smtp.port),
        )
        command = [str(clone / ".venv" / "bin" / "pumpurs"), "open-semester", SEMESTER.code,
                   "--json"]  # fmt: skip
        done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True,
                              timeout=900, check=False)  # fmt: skip
        assert done.returncode == 0, f"run {run + 1}: {done.stderr[-3000:]}"
        counts = json.loads(done.stdout.strip().splitlines()[-1])
        assert (counts["semester_created"], counts["mail_sent"]) == (True, schools), run
    assert len(smtp.received) == RUNS * schools
