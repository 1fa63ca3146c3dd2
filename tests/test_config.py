from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pumpurs.config import Role, load_config
from pumpurs.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "config", target)
    return target


def test_the_shipped_config_loads() -> None:
    config = load_config(REPO / "config")
    assert config.programme.monthly_cap_eur == 300
    assert config.programme.approval_chain == [Role.REGIONAL_COORDINATOR]
    assert set(config.catalogue.risk_categories) == {
        "learning",
        "economic",
        "family",
        "social_health",
    }
    assert len(config.catalogue.measures) == 11 and len(config.catalogue.subjects) == 12
    assert config.school("LV-LIE-006") is not None
    assert config.municipality_region()["liepaja"].code == "kurzeme"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "problem"),
    [
        (
            "programme.yaml",
            "monthly_cap_eur: 300",
            "monthly_cap_eur: many",
            "monthly_cap_eur",
            "valid number",
        ),
        ("programme.yaml", "grade_min: 5", "grade_min: 13", "grade_min", "less than or equal"),
        (
            "programme.yaml",
            "  - regional_coordinator",
            "  - headmaster",
            "approval_chain.0",
            "Input should be",
        ),
        (
            "programme.yaml",
            'start: "09-01"',
            'start: "9/1"',
            "calendar.term1.start",
            "should match pattern",
        ),
        (
            "catalogue.yaml",
            "  meals: {unit: eur,",
            "  meals: {unit: litres,",
            "measures.meals.unit",
            "Input should be",
        ),
        (
            "schools.yaml",
            "municipality: kuldiga",
            "municipality: atlantis",
            "schools.4.municipality",
            "unknown municipality 'atlantis'",
        ),
        (
            "schools.yaml",
            'email: "iaps@centra.kuldiga.example"',
            'email: "nobody"',
            "schools.4.coordinator.email",
            "should match pattern",
        ),
        ("regions.yaml", "code: latgale", "code: kurzeme", "regions", "'kurzeme' appears twice"),
        (
            "regions.yaml",
            '    escalation: {name: "IKVD projekta vadītājs", email: "pmp@ikvd.example"}\n',
            "",
            "regions.0.escalation",
            "Field required",
        ),
    ],
)
def test_a_broken_config_names_file_key_and_problem(
    config_dir: Path, file: str, old: str, new: str, key: str, problem: str
) -> None:
    _replace(config_dir / file, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    error = caught.value
    assert (Path(error.file).name, error.key) == (file, key)
    assert problem in error.problem
    line = error.render("lv")
    assert line.startswith("Konfigurācijas kļūda") and file in line and "\n" not in line


def test_invalid_yaml_and_missing_file_are_reported(config_dir: Path) -> None:
    (config_dir / "schools.yaml").write_text("schools: [\n  - {code: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="schools.yaml: - : not valid YAML|not valid YAML"):
        load_config(config_dir)
    (config_dir / "schools.yaml").unlink()
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    assert caught.value.problem == "file not found"


def test_an_approval_chain_with_directors_needs_every_director(config_dir: Path) -> None:
    _replace(
        config_dir / "programme.yaml",
        "  - regional_coordinator",
        "  - school_director\n  - regional_coordinator",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    assert caught.value.key == "schools.0.director"
