"""Match accepted evaluation rows to the semester's plans, and reject what cannot be evaluated.

A row is matched by (school_code, pupil_ref) to the pupil's plan of the semester, then by
(measure, subject) to a measure of the plan's current revision. Approved (active) plans are
evaluated; a plan evaluated in an earlier run is corrected: the new file replaces its
evaluation, unless the plan has already been carried into a later semester. A pupil's
evaluation comes from one file of the run (the first that has it); with `partial_acceptance`
off (the default) one rejected row rejects the whole evaluation of that pupil in that file, so
a plan is never evaluated from part of its rows, and a correction must give every measure of
the plan, since it replaces the whole evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.intake import REJECTION_COLUMNS
from pumpurs.intake.batch import rejection_frame
from pumpurs.intake.rules import group_rows
from pumpurs.privacy import mask
from pumpurs.store.models import PlanStatus

PUPIL = ["school_code", "pupil_ref"]
FILE_PUPIL = ["file", "pupil_ref"]
DONE = {PlanStatus.EVALUATED, PlanStatus.CONTINUED, PlanStatus.CLOSED}
"""Statuses of an evaluated plan: a new file for it is a correction."""
RULES: dict[str, str | tuple[str, str]] = {
    # What each matching rule says about a row (values masked). A pair is the message for a
    # list of one row and for several (`rows_text`), as in `intake.problems.RULES`.
    "no_plan": N_(
        "Pupil “%(pupil)s” has no support plan this semester, so the evaluation cannot be "
        "accepted. Check the pupil reference: it must be exactly the one of the submitted plan."
    ),
    "plan_not_approved": N_(
        "The plan of pupil “%(pupil)s” is not approved (its status: %(status)s), so it cannot be "
        "evaluated. Only approved plans are evaluated; if the plan needs approval, contact the "
        "regional coordinator."
    ),
    "plan_already_evaluated": N_(
        "The plan of pupil “%(pupil)s” has already been evaluated this semester, so a new "
        "evaluation cannot be accepted. If the evaluation holds a mistake, contact the programme "
        "coordinator."
    ),
    "plan_already_carried": N_(
        "The plan of pupil “%(pupil)s” has already been carried into the next semester, so its "
        "evaluation can no longer be corrected with a new file. If the evaluation holds a mistake, "
        "contact the programme coordinator; if the pupil's support must change, correct the plan "
        "of the next semester."
    ),
    "correction_incomplete": N_(
        "The evaluation of pupil “%(pupil)s” has already been received and this file replaces it, "
        "so it must give every measure of the plan. Missing: %(missing)s. Add the missing measures "
        "(write 0 if a measure did not take place) and submit the pupil's whole evaluation again; "
        "until then the earlier evaluation stands."
    ),
    "measure_not_in_plan": N_(
        "The measure “%(measure_text)s” is not in the approved plan of pupil “%(pupil)s”. The plan "
        "has: %(planned)s. Correct the measure or subject, or delete this row."
    ),
    "measure_repeated": N_(
        "The measure “%(measure_text)s” of pupil “%(pupil)s” is already evaluated on row "
        "%(first_row)s. Write each measure of the plan on one row: delete the extra row or add up "
        "the hours and amounts on one row."
    ),
    "pupil_in_two_files": N_(
        "The evaluation of pupil “%(pupil)s” is already in the file “%(first_file)s”. Submit each "
        "pupil's evaluation in one file only: move these rows to that file or delete them."
    ),
    "plan_rejected": (
        N_(
            "This row has no error, but the evaluation of pupil “%(pupil)s” cannot be accepted "
            "because of errors on the pupil's row %(rows_text)s. Correct them and submit the "
            "pupil's whole evaluation again."
        ),
        N_(
            "This row has no error, but the evaluation of pupil “%(pupil)s” cannot be accepted "
            "because of errors on the pupil's rows: %(rows_text)s. Correct them and submit the "
            "pupil's whole evaluation again."
        ),
    ),
}
STATUS_NAMES = {  # a plan's status as a school reads it when the plan cannot be evaluated
    PlanStatus.DRAFT: N_("a draft carried over, not submitted yet"),
    PlanStatus.SUBMITTED: N_("submitted, awaiting its approval"),
    PlanStatus.RETURNED: N_("returned to the school for revision"),
}


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
    `plans`: plan_id, school_code, pupil_ref, status of the semester's plans, and whether
    each is `evaluated` (has a stored evaluation) and `carried` (into a later semester);
    `planned`: plan_id, measure, subject of the current revisions of the plans to evaluate
    (approved ones, and evaluated ones that may be corrected);
    `files`: the batch's file labels in the order they were read (the first file wins).
    """
    texts = _Texts(config, language)
    found: list[pd.DataFrame] = []
    rows = accepted.assign(subject=accepted["subject"].astype("object"))
    rows, bad = _in_two_files(rows, files, texts)
    found.append(bad)
    known = plans.assign(**{c: plans.get(c, False) for c in ("evaluated", "carried")})
    rows = rows.merge(
        known[["plan_id", *PUPIL, "status", "evaluated", "carried"]], on=PUPIL, how="left"
    )
    no_plan, done = rows["plan_id"].isna(), rows["status"].isin(list(DONE))
    carried = done & rows["carried"].eq(True)
    final = done & ~carried & rows["evaluated"].ne(True)  # no evaluation to correct
    waiting = ~no_plan & ~done & rows["status"].ne(PlanStatus.APPROVED)
    for rule, hits in (
        ("no_plan", no_plan),
        ("plan_already_carried", carried),
        ("plan_already_evaluated", final),
        ("plan_not_approved", waiting),
    ):
        column = "pupil_ref" if rule == "no_plan" else None
        found.append(rejection_frame(rows[hits], rule, texts.messages(rule, rows[hits]), column))
    rows = rows[~(no_plan | carried | final | waiting)]
    rows = rows.assign(plan_id=rows["plan_id"].astype("int64"))
    rows, bad = _not_in_plan(rows, planned, texts)
    found.append(bad)
    rows, bad = _repeated(rows, texts)
    found.append(bad)
    so_far = pd.concat([rejected, *found], ignore_index=True)
    if not config.programme.partial_acceptance:
        rows, bad = _whole_plans(rows, so_far, texts)
        found.append(bad)
        rows, bad = _incomplete_corrections(rows, planned, texts)
        found.append(bad)
    frames = [f for f in found if not f.empty]
    rejections = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REJECTION_COLUMNS)
    )
    kept = rows.drop(columns=["status", "evaluated", "carried"])
    return Matched(kept.reset_index(drop=True), rejections)


def _in_two_files(
    rows: pd.DataFrame, files: Sequence[str], texts: _Texts
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep a pupil's rows of the first file that has them; reject those of later files."""
    rank = rows["file"].map({label: i for i, label in enumerate(files)})
    first = rank.groupby([rows[c] for c in PUPIL]).transform("min")
    later = rank.gt(first)
    first_file = pd.Series(files, dtype="str").iloc[first[later].to_numpy()].str.split("/").str[1]
    hits = rows[later].assign(first_file=first_file.to_numpy())
    return rows[~later], rejection_frame(
        hits, "pupil_in_two_files", texts.messages("pupil_in_two_files", hits)
    )


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
    return rows[~hits], rejection_frame(
        bad, "measure_not_in_plan", texts.messages("measure_not_in_plan", bad), "measure"
    )


def _repeated(rows: pd.DataFrame, texts: _Texts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject a second row for the same measure of the same plan."""
    subject = rows["subject"].fillna("")
    key = [rows["plan_id"], rows["measure"], subject]
    order = rows.assign(_subject=subject).sort_values(["file", "row_number"], kind="stable")
    later = order.duplicated(["plan_id", "measure", "_subject"]).reindex(rows.index)
    first_row = rows["row_number"].groupby(key).transform("min")
    bad = rows[later].assign(
        measure_text=texts.measure_names(rows[later]), first_row=first_row[later].astype("str")
    )
    return rows[~later], rejection_frame(
        bad, "measure_repeated", texts.messages("measure_repeated", bad), "measure"
    )


def _whole_plans(
    rows: pd.DataFrame, rejections: pd.DataFrame, texts: _Texts
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject the rest of a pupil's rows in a file when any of them was rejected."""
    failed = rejections[[*FILE_PUPIL, "row_number"]].drop_duplicates().reset_index(drop=True)
    listed = group_rows(failed, pd.Series(True, index=failed.index), FILE_PUPIL)
    rows_text = failed.assign(rows_text=listed).groupby(FILE_PUPIL)["rows_text"].first()
    bad = rows.join(rows_text, on=FILE_PUPIL, how="inner")
    hits = rows.index.isin(bad.index)
    return rows[~hits], rejection_frame(bad, "plan_rejected", texts.messages("plan_rejected", bad))


def _incomplete_corrections(
    rows: pd.DataFrame, planned: pd.DataFrame, texts: _Texts
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject a correction that leaves out a measure of the plan.

    A correction replaces the whole evaluation: a measure it left out would silently lose the
    values the school gave before, so the pupil's rows are rejected and the old evaluation kept.
    """
    corrections = rows[rows["status"].isin(list(DONE))]
    if corrections.empty:
        return rows, rejection_frame(corrections, "correction_incomplete", pd.Series())
    key = ["plan_id", "measure", "_subject"]
    given = corrections.assign(_subject=corrections["subject"].fillna(""))[key]
    wanted = planned[planned["plan_id"].isin(corrections["plan_id"])]
    wanted = wanted.assign(_subject=wanted["subject"].fillna(""))
    left_out = wanted.merge(given.drop_duplicates(), on=key, how="left", indicator=True)
    left_out = wanted[(left_out["_merge"] == "left_only").to_numpy()]
    listing = left_out.assign(text=texts.measure_names(left_out)).groupby("plan_id")["text"]
    missing = listing.agg(lambda v: "; ".join(sorted(set(v))))
    hits = rows["plan_id"].isin(missing.index) & rows["status"].isin(list(DONE))
    bad = rows[hits].assign(missing=rows.loc[hits, "plan_id"].map(missing))
    return rows[~hits], rejection_frame(
        bad, "correction_incomplete", texts.messages("correction_incomplete", bad)
    )


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
        t = texts(self.language)
        found = []
        for row in rows.to_dict("records"):
            params = {str(key): mask(str(value)) for key, value in row.items()}
            params["pupil"] = params.get("pupil_ref", "")
            if rule == "plan_not_approved":
                status = row["status"]
                params["status"] = (
                    t.gettext(STATUS_NAMES[status]) if status in STATUS_NAMES else status
                )
            message = RULES[rule]
            if isinstance(message, tuple):
                one, several = message
                message = several if "," in params["rows_text"] else one
            found.append(t.gettext(message, **params))
        return pd.Series(found, index=rows.index, dtype="object")
