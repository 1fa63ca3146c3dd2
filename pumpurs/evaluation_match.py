"""Match accepted evaluation rows to the semester's plans, and reject what cannot be evaluated.

A row is matched by (school_code, pupil_ref) to the pupil's plan of the semester, then by
(measure, subject) to a measure of the plan's current revision. Only approved (active) plans
are evaluated. A pupil's evaluation comes from one file; with `partial_acceptance` off (the
default) one rejected row rejects the whole evaluation of that pupil in that file, so a plan is
never evaluated from part of its rows (an evaluation is final).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pumpurs.config import Config
from pumpurs.i18n import translate
from pumpurs.intake import REJECTION_COLUMNS
from pumpurs.intake.rules import group_rows
from pumpurs.intake_run import rejection_frame
from pumpurs.models import PlanStatus
from pumpurs.privacy import mask

PUPIL = ["school_code", "pupil_ref"]
FILE_PUPIL = ["file", "pupil_ref"]
DONE = {PlanStatus.EVALUATED, PlanStatus.CONTINUED, PlanStatus.CLOSED}


@dataclass(frozen=True, eq=False)
class Matched:
    """Accepted rows with their plan_id, and the rows rejected while matching."""

    rows: pd.DataFrame
    rejections: pd.DataFrame


def match_rows(
    accepted: pd.DataFrame,
    rejected: pd.DataFrame,
    plans: pd.DataFrame,
    planned: pd.DataFrame,
    files: Sequence[str],
    config: Config,
    language: str,
) -> Matched:
    """Match `accepted` rows to `plans` and their `planned` measures; reject the rest.

    `rejected`: the batch's rejections so far (to reject the rest of those pupils' rows);
    `plans`: plan_id, school_code, pupil_ref, status of the semester's plans;
    `planned`: plan_id, measure, subject of the approved plans' current revisions;
    `files`: the batch's file labels in the order they were read (the first file wins).
    """
    texts = _Texts(config, language)
    found: list[pd.DataFrame] = []
    rows = accepted.assign(subject=accepted["subject"].astype("object"))
    rows, bad = _in_two_files(rows, files, texts)
    found.append(bad)
    rows = rows.merge(plans[["plan_id", *PUPIL, "status"]], on=PUPIL, how="left")
    no_plan, done = rows["plan_id"].isna(), rows["status"].isin(list(DONE))
    waiting = ~no_plan & ~done & rows["status"].ne(PlanStatus.APPROVED)
    for rule, hits in (("no_plan", no_plan), ("plan_already_evaluated", done),
                       ("plan_not_approved", waiting)):  # fmt: skip
        column = "pupil_ref" if rule == "no_plan" else None
        found.append(rejection_frame(rows[hits], rule, texts.messages(rule, rows[hits]), column))
    rows = rows[~(no_plan | done | waiting)]
    rows = rows.assign(plan_id=rows["plan_id"].astype("int64"))
    rows, bad = _not_in_plan(rows, planned, texts)
    found.append(bad)
    rows, bad = _repeated(rows, texts)
    found.append(bad)
    so_far = pd.concat([rejected, *found], ignore_index=True)
    if not config.programme.partial_acceptance:
        rows, bad = _whole_plans(rows, so_far, texts)
        found.append(bad)
    frames = [f for f in found if not f.empty]
    rejections = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REJECTION_COLUMNS)
    )
    return Matched(rows.drop(columns=["status"]).reset_index(drop=True), rejections)


def _in_two_files(
    rows: pd.DataFrame, files: Sequence[str], texts: _Texts
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep a pupil's rows of the first file that has them; reject those of later files."""
    rank = rows["file"].map({label: i for i, label in enumerate(files)})
    first = rank.groupby([rows[c] for c in PUPIL]).transform("min")
    later = rank.gt(first)
    first_file = pd.Series(files, dtype="str").iloc[first[later].to_numpy()].str.split("/").str[1]
    hits = rows[later].assign(first_file=first_file.to_numpy())
    return rows[~later], rejection_frame(hits, "pupil_in_two_files",
                                         texts.messages("pupil_in_two_files", hits))  # fmt: skip


def _not_in_plan(
    rows: pd.DataFrame, planned: pd.DataFrame, texts: _Texts
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject rows for a measure (and subject) the pupil's plan does not have."""
    key = planned.assign(_known=True, _subject=planned["subject"].fillna(""))
    key = key[["plan_id", "measure", "_subject", "_known"]].drop_duplicates()
    joined = rows.assign(_subject=rows["subject"].fillna("")).merge(
        key, on=["plan_id", "measure", "_subject"], how="left"
    )
    hits = pd.Series(joined["_known"].isna().to_numpy(), index=rows.index)
    named = planned.assign(text=texts.measure_names(planned))
    listing = named.groupby("plan_id")["text"].agg(lambda v: "; ".join(sorted(set(v))))
    bad = rows[hits].assign(
        measure_text=texts.measure_names(rows[hits]),
        planned=rows.loc[hits, "plan_id"].map(listing).fillna("—"),
    )
    return rows[~hits], rejection_frame(bad, "measure_not_in_plan",
                                        texts.messages("measure_not_in_plan", bad),
                                        "measure")  # fmt: skip


def _repeated(rows: pd.DataFrame, texts: _Texts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject a second row for the same measure of the same plan."""
    subject = rows["subject"].fillna("")
    key = [rows["plan_id"], rows["measure"], subject]
    order = rows.assign(_subject=subject).sort_values(["file", "row_number"], kind="stable")
    later = order.duplicated(["plan_id", "measure", "_subject"]).reindex(rows.index)
    first_row = rows["row_number"].groupby(key).transform("min")
    bad = rows[later].assign(measure_text=texts.measure_names(rows[later]),
                             first_row=first_row[later].astype("str"))  # fmt: skip
    return rows[~later], rejection_frame(bad, "measure_repeated",
                                         texts.messages("measure_repeated", bad),
                                         "measure")  # fmt: skip


def _whole_plans(
    rows: pd.DataFrame, rejections: pd.DataFrame, texts: _Texts
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject the rest of a pupil's rows in a file when any of them was rejected."""
    failed = rejections[[*FILE_PUPIL, "row_number"]].drop_duplicates().reset_index(drop=True)
    listed = group_rows(failed, pd.Series(True, index=failed.index), FILE_PUPIL)
    rows_text = failed.assign(rows_text=listed).groupby(FILE_PUPIL)["rows_text"].first()
    bad = rows.join(rows_text, on=FILE_PUPIL, how="inner")
    hits = rows.index.isin(bad.index)
    return rows[~hits], rejection_frame(bad, "plan_rejected",
                                        texts.messages("plan_rejected", bad))  # fmt: skip


class _Texts:
    """Messages for the school, per row, in the run's language; values masked."""

    def __init__(self, config: Config, language: str) -> None:
        self.catalogue = config.catalogue
        self.language = language

    def label(self, key: str, kind: str) -> str:
        items = self.catalogue.measures if kind == "measure" else self.catalogue.subjects
        item = items.get(key)
        if item is None:
            return key
        return item.en if self.language == "en" else item.lv

    def measure_names(self, rows: pd.DataFrame) -> pd.Series:
        """Return each row's measure as the school reads it: label, and subject if any."""
        names = [
            self.label(m, "measure") + (f" ({self.label(s, 'subject')})" if s else "")
            for m, s in zip(rows["measure"], rows["subject"].fillna(""), strict=True)
        ]
        return pd.Series(names, index=rows.index, dtype="object")

    def messages(self, rule: str, rows: pd.DataFrame) -> pd.Series:
        """Return the rule's message for each row, filled from the row's columns."""
        texts = []
        for row in rows.to_dict("records"):
            params = {str(key): mask(str(value)) for key, value in row.items()}
            params["pupil"] = params.get("pupil_ref", "")
            if rule == "plan_not_approved":
                params["status"] = translate(f"evaluation.status.{row['status']}", self.language)
            texts.append(translate(f"evaluation.rule.{rule}", self.language, **params))
        return pd.Series(texts, index=rows.index, dtype="object")
