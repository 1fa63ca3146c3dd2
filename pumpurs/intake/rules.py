"""Rules that plan and evaluation rows share: school, pupil reference, catalogue, duplicates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from pumpurs.config import Catalogue, Config, Unit
from pumpurs.intake.normalise import allowed, lookup, per_unique, spellings, text_column
from pumpurs.intake.problems import Problems
from pumpurs.privacy import CODE_OR_MASKED, code_shaped

PUPIL_REF_MIN, PUPIL_REF_MAX = 3, 32
ROWS_SHOWN = 10
_FIRST_CODE = f"({CODE_OR_MASKED.pattern})"


def prepare(rows: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Return the batch as stripped text columns plus file, folder, row number and file order."""
    for name in ("file", "row_number"):
        if name not in rows.columns:
            raise ValueError(f"rows need a {name!r} column")
    source = rows.reset_index(drop=True)
    data = pd.DataFrame({key: text_column(source, key) for key in keys}, index=source.index)
    data["file"] = source["file"].astype("str").fillna("")
    data["folder_school"] = text_column(source, "folder_school")
    data["row_number"] = pd.to_numeric(source["row_number"]).astype("int64")
    if data.duplicated(["file", "row_number"]).any():
        raise ValueError("rows must have unique (file, row_number) keys")
    data["file_rank"] = pd.factorize(data["file"])[0]
    return data


def check_required(data: pd.DataFrame, problems: Problems, rules: Mapping[str, str]) -> None:
    """Flag empty required cells; `rules` maps each required column to its rule id."""
    for key, rule in rules.items():
        problems.add(rule, data[key].eq(""), key)


def check_school(data: pd.DataFrame, problems: Problems, config: Config) -> None:
    """Flag unknown school codes and codes that differ from the folder's school; set `school`."""
    codes = {school.code.lower(): school.code for school in config.schools}
    raw = data["school_code"]
    known = lookup(raw, codes)
    folder = data["folder_school"]
    folder = lookup(folder, codes).fillna(folder)
    data["school"] = known.fillna(raw).astype("str")
    problems.add("unknown_school", known.isna() & raw.ne(""), "school_code", value=raw)
    wrong = known.notna() & folder.ne("") & known.ne(folder)
    problems.add("wrong_school", wrong, "school_code", value=raw, expected=folder)


def check_pupil_ref(data: pd.DataFrame, problems: Problems, code_columns: Sequence[str]) -> None:
    """Flag personal codes in any of `code_columns` and pupil references of the wrong length."""
    for key in code_columns:
        hits = per_unique(data[key], code_shaped)
        found = data[key][hits].str.extract(_FIRST_CODE, expand=False)
        problems.add("personal_code", hits, key, value=found)
    pupil = data["pupil_ref"]
    length = pupil.str.len()
    shaped = per_unique(pupil, code_shaped)
    bad = pupil.ne("") & ~shaped & ~length.between(PUPIL_REF_MIN, PUPIL_REF_MAX)
    problems.add(
        "pupil_ref_length",
        bad,
        "pupil_ref",
        value=data["pupil_ref"],
        length=length.astype("str"),
        min=PUPIL_REF_MIN,
        max=PUPIL_REF_MAX,
    )


def check_measure(data: pd.DataFrame, problems: Problems, catalogue: Catalogue) -> None:
    """Flag unknown measures; set `measure_key`, `unit`, `needs_subject` and `measure_label`."""
    raw = data["measure"]
    key = lookup(raw, spellings(catalogue.measures))
    measures = catalogue.measures
    data["measure_key"] = key
    data["unit"] = key.map({k: m.unit.value for k, m in measures.items()}).astype("str")
    data["needs_subject"] = key.map({k: m.needs_subject for k, m in measures.items()}).eq(True)
    labels = {k: (m.en if problems.language == "en" else m.lv) for k, m in measures.items()}
    data["measure_label"] = key.map(labels).astype("str")
    listed = allowed(measures, problems.language)
    problems.add("unknown_measure", key.isna() & raw.ne(""), "measure", value=raw, allowed=listed)


def check_subject(data: pd.DataFrame, problems: Problems, catalogue: Catalogue) -> None:
    """Flag a missing or unknown subject where the measure needs one; set `subject_key`."""
    raw = data["subject"]
    key = lookup(raw, spellings(catalogue.subjects))
    needs = data["needs_subject"]
    data["subject_key"] = key.where(needs)
    listed = allowed(catalogue.subjects, problems.language)
    label = data["measure_label"]
    missing = needs & raw.eq("")
    problems.add("missing_subject", missing, "subject", measure=label, allowed=listed)
    problems.add(
        "unknown_subject",
        needs & raw.ne("") & key.isna(),
        "subject",
        value=raw,
        allowed=listed,
    )


def is_unit(data: pd.DataFrame, unit: Unit) -> pd.Series:
    """Return which rows have a known measure planned in this unit."""
    return data["unit"].eq(unit.value)


def check_duplicates(data: pd.DataFrame, problems: Problems, normalised: pd.DataFrame) -> pd.Series:
    """Flag rows that repeat an earlier row of the same file once normalised; return them."""
    keys = pd.util.hash_pandas_object(normalised.assign(file=data["file"]), index=False)
    ordered = data.sort_values("row_number", kind="stable").index
    later = keys.loc[ordered].duplicated().reindex(data.index)
    first_row = data["row_number"].groupby(keys).transform("min")
    problems.add("duplicate_row", later, None, first_row=first_row.astype("str"))
    return later


def group_rows(data: pd.DataFrame, hits: pd.Series, by: Sequence[str]) -> pd.Series:
    """Return, for each hit row, the row numbers of the hit rows of its group (`2, 5, 9`)."""
    subset = data.loc[hits.fillna(False).astype(bool), [*by, "row_number"]]
    subset = subset.sort_values("row_number", kind="stable")
    group = subset.groupby(list(by), sort=False).ngroup()
    rank = group.groupby(group).cumcount()
    size = group.groupby(group).transform("size")
    listed = (", " + subset["row_number"].astype("str")).astype(object).where(rank.lt(ROWS_SHOWN))
    text = listed.fillna("").groupby(group).sum().astype("str").str.removeprefix(", ")
    more = size.gt(ROWS_SHOWN).groupby(group).first()
    text = text.where(~more, text + ", …")
    spread = pd.Series(text.reindex(group).to_numpy(), index=subset.index, dtype="str")
    return spread.reindex(data.index).fillna("")
