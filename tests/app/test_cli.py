from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pumpurs(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real `pumpurs` command in a scratch folder."""
    environment = dict(os.environ, PUMPURS_VAR_DIR=str(tmp_path / "var"),
                       PUMPURS_CONFIG_DIR=str(REPO / "config"))  # fmt: skip
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "pumpurs.app.cli", *args], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=120)  # fmt: skip


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("code", ["2026/2028-1", "2026-2027-3", "rudens"])
def test_an_unknown_semester_code_is_one_line_and_exit_2(tmp_path: Path, code: str) -> None:
    line = _one_line_error(pumpurs(["open-semester", code], tmp_path))
    assert (
        line == f"pumpurs: Nederīgs semestra kods “{code}”: jābūt formā 2026/2027-1 "
        "(mācību gads un semestris 1 vai 2)."
    )


def test_english_by_setting(tmp_path: Path) -> None:
    line = _one_line_error(pumpurs(["collect", "x"], tmp_path, PUMPURS_LANGUAGE="en"))
    assert line.startswith("pumpurs: Invalid semester code “x”")


def test_a_broken_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    text = (config / "programme.yaml").read_text(encoding="utf-8")
    (config / "programme.yaml").write_text(text.replace("grade_max: 12", "grade_max: twelve"))
    line = _one_line_error(pumpurs(["open-semester", "2026/2027-1"], tmp_path,
                                   PUMPURS_CONFIG_DIR=str(config)))  # fmt: skip
    assert "programme.yaml (grade_max)" in line and "Konfigurācijas kļūda" in line


HELP = " Palīdzība: pumpurs {}--help"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["open-semester"], "Trūkst argumenta “semester”." + HELP.format("open-semester ")),
        (["generate", "--scale", "galaxy"],
         "Nederīga --scale vērtība: izvēlieties small, city vai national."),
        (["generate", "--seed", "many"],
         "Nederīga --seed vērtība. Jābūt veselam skaitlim." + HELP.format("generate ")),
        (["generate", "--sede", "3"],
         "Nav tādas opcijas: --sede. Varbūt domājāt --scale, --seed, --semester?"
         + HELP.format("generate ")),
        (["generate", "--out"], "Opcijai --out jānorāda vērtība." + HELP.format("")),
        (["collect", "2026/2027-1", "extra"], "Lieki argumenti: extra." + HELP.format("collect ")),
        (["nonsense"], "Nav tādas komandas: “nonsense”." + HELP.format("")),
    ],
)  # fmt: skip
def test_bad_cli_arguments_are_one_latvian_line_and_exit_2(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    assert _one_line_error(pumpurs(args, tmp_path)) == f"pumpurs: {expected}"


def test_bad_cli_arguments_in_english_by_setting(tmp_path: Path) -> None:
    result = pumpurs(["generate", "--seed", "many"], tmp_path, PUMPURS_LANGUAGE="en")
    assert _one_line_error(result) == (
        "pumpurs: Invalid value for --seed. It must be a whole number."
        " Help: pumpurs generate --help"
    )


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    line = _one_line_error(pumpurs(["db", "current"], tmp_path, PUMPURS_SMTP_PORT="lots"))
    assert line.startswith("pumpurs: PUMPURS_SMTP_PORT:")


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    assert pumpurs(["db", "upgrade"], tmp_path).returncode == 0
    result = pumpurs(["db", "current", "--json"], tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["current"] is True


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_generate_writes_the_same_bytes_for_a_seed(tmp_path: Path) -> None:
    first = pumpurs(
        ["generate", "--scale", "small", "--seed", "3", "--out", "a", "--json"], tmp_path
    )
    second = pumpurs(["generate", "--scale", "small", "--seed", "3", "--out", "b"], tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    counts = json.loads(first.stdout)
    assert counts["schools"] == 9 and counts["plans"] > 100
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert (tmp_path / "a" / "config" / "schools.yaml").exists()


def test_generate_refuses_to_mix_runs_unless_told(tmp_path: Path) -> None:
    assert pumpurs(["generate", "--out", "g"], tmp_path).returncode == 0
    assert "--overwrite" in _one_line_error(pumpurs(["generate", "--out", "g"], tmp_path))
    assert pumpurs(["generate", "--out", "g", "--overwrite"], tmp_path).returncode == 0


def test_school_link_issues_a_new_link_and_the_old_one_stops_working(tmp_path: Path) -> None:
    from pumpurs.opening.links import (
        SchoolLinkProblem,
        SchoolLinkRefused,
        read_school_link,
        verify_school_link,
    )
    from pumpurs.semester import SemesterCode
    from pumpurs.settings import Settings
    from pumpurs.store.context import load_context
    from pumpurs.store.reference import ensure_semester

    settings = Settings(_env_file=None, var_dir=tmp_path / "var",
                        config_dir=REPO / "config")  # fmt: skip
    ctx = load_context(settings)
    refused = pumpurs(["school-link", "2026/2027-1", "LV-LIE-006"], tmp_path)
    assert refused.returncode == 2 and "pumpurs open-semester 2026/2027-1" in refused.stderr
    with ctx.sessions.begin() as session:
        ensure_semester(session, ctx.config, SemesterCode.parse("2026/2027-1"))
    first, second = (pumpurs(["school-link", "2026/2027-1", "lv-lie-006"], tmp_path)
                     for _ in range(2))  # fmt: skip
    assert first.returncode == second.returncode == 0, first.stderr
    old, new = (r.stdout.strip().rsplit("/s/", 1)[1] for r in (first, second))
    assert first.stdout.startswith("http://127.0.0.1:8080/s/") and old != new
    with ctx.sessions() as session:
        assert verify_school_link(session, read_school_link(settings, new)).school_code == (
            "LV-LIE-006"
        )
        with pytest.raises(SchoolLinkRefused) as gone:
            verify_school_link(session, read_school_link(settings, old))
    assert gone.value.problem == SchoolLinkProblem.REPLACED
    unknown = pumpurs(["school-link", "2026/2027-1", "LV-XXX-000"], tmp_path)
    assert unknown.returncode == 2 and "LV-XXX-000" in unknown.stderr
