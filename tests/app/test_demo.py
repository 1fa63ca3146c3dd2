"""`make demo` at small scale: it runs the whole cycle, starts clean, and names real files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pumpurs.app.demo import run_demo
from pumpurs.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
NAMED = re.compile(r"(/\S+\.(?:eml|xlsx|csv|db))")


def test_the_demo_runs_a_semester_and_names_files_that_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path / "var")
    (tmp_path / "var" / "outbox").mkdir(parents=True)
    (tmp_path / "var" / "outbox" / "000001.eml").write_text("left by an earlier demo")
    results = run_demo(settings, scale="small")
    out = capsys.readouterr().out
    decided, again = results["decide"], results["decide-again"]
    assert decided.total == results["collect"]["plans_new"] and decided.returned
    assert again.approved == len(decided.returned) == results["collect-again"]["plans_revised"]
    sent = results["resubmit"]  # every school uploaded its corrected file on its page
    assert sent.files == len(sent.through_page) == results["collect-again"]["files"] > 0
    assert f"caur skolas lapu {sent.files}, mapē 0" in out
    assert results["evaluate"]["plans_evaluated"] > 0 and results["summaries"]["mail_sent"] > 0
    named = [Path(path) for path in NAMED.findall(out)]
    assert len(named) >= 8 and all(path.is_file() for path in named), out
    assert all(path.is_file() for path in results["files"])
    emails = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    assert f"{len(emails)} .eml" in out and b"earlier" not in emails[0].read_bytes()
    assert "Kopsavilkumi nosūtīti" in out and "Kur skatīties:" in out
    assert results["summaries"]["summaries_municipality"] > 0 and "pašvaldībām" in out
