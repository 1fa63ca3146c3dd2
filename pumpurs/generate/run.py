"""One generator run: read the rules, draw and write the inbox and config, write the manifest."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pumpurs.config import Catalogue, Programme
from pumpurs.generate.evaluation import draw_evaluation, write_evaluation_files
from pumpurs.generate.files import (
    choose_style,
    late_parts,
    valid_totals,
    variants,
    write_manifest,
    write_plan_files,
)
from pumpurs.generate.geography import (
    CONFIG_SOURCE,
    REGIONS,
    SCALES,
    Scale,
    geography,
    write_config,
)
from pumpurs.generate.mistakes import Injector
from pumpurs.generate.rows import MEDIAN, RISKS, SUBJECT_SHARE, draw_pupils, measures, written_sheet
from pumpurs.semester import SemesterCode

DEFAULT_SEMESTER = SemesterCode(2026, 1)


@dataclass(frozen=True)
class GenerateResult:
    """What one run wrote: counts over the whole inbox."""

    schools: int
    municipalities: int
    regions: int
    pupils: int
    plans: int
    rows: int
    files: int
    mistakes: int
    valid_plans: int
    evaluation_rows: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict."""
        return asdict(self)


def generate(
    scale: Scale,
    seed: int,
    out: Path,
    semester: SemesterCode | None = None,
    mistake_share: float = 0.04,
    overwrite: bool = False,
) -> GenerateResult:
    """Write config, inbox files and manifest.json for one scale and seed; return the counts."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    if not 0 <= mistake_share <= 0.5:
        raise ValueError("mistake_share must be between 0 and 0.5")
    semester = semester or DEFAULT_SEMESTER
    inbox = out / "inbox" / semester.folder
    _prepare(out, inbox, overwrite)
    rng = np.random.default_rng(seed)
    programme, catalogue = _read_rules()
    municipalities, schools = geography(SCALES[scale], rng)
    write_config(out / "config", municipalities, schools)
    pupils = draw_pupils(schools, rng)
    rows = measures(pupils, schools, catalogue, programme, rng)
    sheet = written_sheet(rows, pupils, schools, rng)
    injector = Injector(sheet, pupils, schools, programme, rng)
    mistakes = injector.inject(round(mistake_share * len(pupils["ref"])))
    valid = ~injector.invalid
    styles = [choose_style(variant, rng) for variant in variants(len(schools), rng)]
    late_parts(pupils, schools, rng)
    files = write_plan_files(
        inbox, semester, injector.result(), pupils, schools, styles, mistakes, rng
    )
    evaluation = draw_evaluation(sheet, rows, pupils, valid, semester, rng)
    files += write_evaluation_files(inbox, semester, evaluation, pupils, schools, styles, rng)
    result = GenerateResult(
        schools=len(schools),
        municipalities=len(municipalities),
        regions=len(REGIONS),
        pupils=len(pupils["ref"]),
        plans=len(pupils["ref"]),
        rows=sum(f["rows"] for f in files if f["kind"] == "plans"),
        files=len(files),
        mistakes=int(injector.invalid.sum()),
        valid_plans=int(valid.sum()),
        evaluation_rows=sum(f["rows"] for f in files if f["kind"] == "evaluation"),
    )
    manifest = {
        "generator": {
            "scale": scale,
            "seed": seed,
            "semester": semester.code,
            "mistake_share": mistake_share,
        },
        "counts": result.as_dict(),
        "valid": valid_totals(rows, pupils, valid),
        "invalid_plans": injector.invalid_plans(),
        "files": files,
    }
    write_manifest(out / "manifest.json", manifest)
    return result


def _prepare(out: Path, inbox: Path, overwrite: bool) -> None:
    """Refuse to mix with an earlier run, or clear what an earlier run wrote when asked to."""
    owned = (inbox, out / "config", out / "manifest.json")
    if not overwrite and any(path.exists() for path in owned):
        raise FileExistsError(f"{out} already holds generated data; pass overwrite=True")
    for path in owned:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    inbox.mkdir(parents=True)


def _read_rules() -> tuple[Programme, Catalogue]:
    """Read the programme rules and the catalogue from the repository's default config."""
    programme = Programme.model_validate(_yaml(CONFIG_SOURCE / "programme.yaml"))
    catalogue = Catalogue.model_validate(_yaml(CONFIG_SOURCE / "catalogue.yaml"))
    unknown = (
        (set(SUBJECT_SHARE) - set(catalogue.subjects))
        | (set(MEDIAN) - set(catalogue.measures))
        | (set(RISKS) - set(catalogue.risk_categories))
    )
    if unknown:
        raise ValueError(f"the catalogue lacks keys the generator uses: {sorted(unknown)}")
    return programme, catalogue


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
