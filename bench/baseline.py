"""The bare minimum collect: the same files, the same checks, the same rows inserted — with
pandas and SQLAlchemy Core only, no orchestration, no reports, no mail. New rows' ids are
learnt as collect learns them (`store.inserts.insert_ids`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, create_engine, insert, select

from pumpurs.columns import PLAN_COLUMNS
from pumpurs.config import Config
from pumpurs.intake import read_file, validate_plans
from pumpurs.store.inserts import insert_ids
from pumpurs.store.models import (
    Base,
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    Pupil,
    RowRejection,
    School,
    Semester,
    Submission,
)


def _table(model: Any) -> Any:
    return model.__table__


def prepare(url: str, config: Config, semester_dates: dict[str, Any]) -> Engine:
    """Create the schema, the schools and the semester (not timed)."""
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(_table(School)),
            [
                {
                    "code": s.code,
                    "name": s.name,
                    "municipality_id": 0,
                    "coordinator_email": s.coordinator.email,
                    "vocational": s.vocational,
                }
                for s in config.schools
            ],
        )
        connection.execute(insert(_table(Semester)), [semester_dates])
    return engine


def run(engine: Engine, inbox: Path, config: Config) -> int:
    """Read every plan file, check every row, insert what the collect flow inserts."""
    files = sorted(inbox.glob("*/plans/*"))
    frames, submissions = [], []
    for path in files:
        content = path.read_bytes()
        result = read_file(path, max_bytes=20 << 20, columns=PLAN_COLUMNS)
        label = f"{path.parent.parent.name}/{path.name}"
        submissions.append(
            {
                "semester_id": 1,
                "school_folder": path.parent.parent.name,
                "kind": "plans",
                "filename": path.name,
                "sha256": hashlib.sha256(content).hexdigest(),
                "redacted": False,
                "size": len(content),
                "content": content,
                "status": "ingested",
                "rows_read": 0,
                "rows_accepted": 0,
                "rows_rejected": 0,
            }
        )
        if result.frame is not None:
            frames.append(result.frame.assign(file=label, folder_school=path.parent.parent.name))
    batch = pd.concat(frames, ignore_index=True)
    checked = validate_plans(batch, config)
    accepted = checked.accepted
    with engine.begin() as connection:
        ids = (
            connection.execute(
                insert(_table(Submission)).returning(
                    _table(Submission).c.id, sort_by_parameter_order=True
                ),
                submissions,
            )
            .scalars()
            .all()
        )
        by_label = dict(
            zip([f"{s['school_folder']}/{s['filename']}" for s in submissions], ids, strict=True)
        )
        schools = dict(
            connection.execute(select(_table(School).c.code, _table(School).c.id)).tuples().all()
        )
        plans = accepted.groupby(["school_code", "pupil_ref"], sort=False).first().reset_index()
        pupil_ids = insert_ids(
            connection,
            _table(Pupil),
            [
                {"school_id": schools[s], "ref": r}
                for s, r in zip(plans["school_code"], plans["pupil_ref"], strict=True)
            ],
            ["ref", "school_id"],
        )
        plan_ids = insert_ids(
            connection,
            _table(Plan),
            [
                {
                    "semester_id": 1,
                    "school_id": schools[s],
                    "pupil_id": p,
                    "status": "submitted",
                    "revision": 1,
                }
                for s, p in zip(plans["school_code"], pupil_ids, strict=True)
            ],
            ["pupil_id", "semester_id"],
        )
        revision_ids = insert_ids(
            connection,
            _table(PlanRevision),
            [
                {
                    "plan_id": p,
                    "number": 1,
                    "submission_id": by_label[f],
                    "grade": int(g),
                    "goal": goal,
                }
                for p, f, g, goal in zip(
                    plan_ids, plans["file"], plans["grade"], plans["goal"], strict=True
                )
            ],
            ["plan_id", "number"],
        )
        keyed = plans[["school_code", "pupil_ref", "risk_categories"]].assign(revision=revision_ids)
        rows = accepted.merge(keyed[["school_code", "pupil_ref", "revision"]])
        connection.execute(
            insert(_table(PlanMeasure)),
            [
                {
                    "revision_id": r,
                    "measure": m,
                    "subject": s,
                    "provider_ref": p,
                    "hours_per_month": None if pd.isna(h) else float(h),
                    "eur_per_month": None if pd.isna(e) else float(e),
                }
                for r, m, s, p, h, e in zip(
                    rows["revision"],
                    rows["measure"],
                    rows["subject"],
                    rows["provider_ref"],
                    rows["hours_per_month"],
                    rows["eur_per_month"],
                    strict=True,
                )
            ],
        )
        risks = keyed.assign(category=keyed["risk_categories"].str.split(";")).explode("category")
        connection.execute(
            insert(_table(PlanRisk)),
            [
                {"revision_id": r, "category": c}
                for r, c in zip(risks["revision"], risks["category"], strict=True)
            ],
        )
        rejected = checked.rejections
        if not rejected.empty:
            connection.execute(
                insert(_table(RowRejection)),
                [
                    {
                        "submission_id": by_label[f],
                        "row_number": int(n),
                        "column": c,
                        "rule": r,
                        "message": m,
                        "pupil_ref": p,
                    }
                    for f, n, c, r, m, p in zip(
                        rejected["file"],
                        rejected["row_number"],
                        rejected["column"],
                        rejected["rule"],
                        rejected["message"],
                        rejected["pupil_ref"],
                        strict=True,
                    )
                ],
            )
    return len(batch)
