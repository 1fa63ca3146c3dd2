"""Injected mistakes: the rules a plan can break and the injector that breaks a share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pumpurs.config import Programme
from pumpurs.generate.geography import Array, School
from pumpurs.generate.rows import cell_text
from pumpurs.privacy import mask

RULES: tuple[str, ...] = (
    "personal_code",
    "unknown_measure",
    "unknown_subject",
    "missing_subject",
    "missing_hours",
    "missing_provider",
    "hours_over_max",
    "over_cap",
    "grade_out_of_range",
    "missing_goal",
    "missing_risk",
    "unknown_risk",
    "duplicate_row",
    "wrong_school",
)
_UNKNOWN = {
    "measure": ("tutoring", "summer_camp", "ekskursija", "mentors"),
    "subject": ("astronomy", "programmēšana", "dance", "ķīniešu valoda"),
    "risk": ("bullying", "truancy", "behaviour", "migration"),
}
_NEEDS = {  # rules that need a row with a value in this column
    "unknown_subject": "subject",
    "missing_subject": "subject",
    "missing_hours": "hours_per_month",
    "hours_over_max": "hours_per_month",
    "missing_provider": "provider_ref",
    "over_cap": "eur_per_month",
}


@dataclass(frozen=True)
class Mistake:
    uid: int
    column: str | None
    rule: str
    value: str


class Injector:
    """Break a share of plans, one rule each, and remember where every defect is."""

    def __init__(
        self,
        sheet: dict[str, Array],
        pupils: dict[str, Array],
        schools: list[School],
        programme: Programme,
        rng: np.random.Generator,
    ) -> None:
        self.sheet = {key: values.copy() for key, values in sheet.items()}
        self.pupils, self.schools, self.programme, self.rng = pupils, schools, programme, rng
        n = len(pupils["ref"])
        self.bounds = np.searchsorted(sheet["_pupil"], np.arange(n + 1))
        self.invalid = np.zeros(n, dtype=bool)
        self.rules: dict[int, str] = {}
        self.copies: list[int] = []
        self.mistakes: list[Mistake] = []

    def inject(self, count: int) -> list[Mistake]:
        """Break count plans, cycling through the rules, and return the defects."""
        rules = [r for r in RULES if r != "wrong_school" or len(self.schools) > 1]
        order = self.rng.permutation(len(rules))
        candidates = self.rng.permutation(len(self.invalid)).tolist()
        for k in range(count):
            rule = rules[int(order[k % len(rules)])]
            pupil = next((p for p in candidates if self._eligible(rule, p)), None)
            if pupil is None:
                continue
            candidates.remove(pupil)
            self.invalid[pupil], self.rules[pupil] = True, rule
            getattr(self, f"_{rule}")(pupil)
        return self.mistakes

    def result(self) -> dict[str, Array]:
        """Return the sheet with the duplicated rows added and each row's uid and order."""
        n = len(self.sheet["_pupil"])
        source = np.array(self.copies, dtype=int)
        sheet = {
            key: np.concatenate([values, values[source]]) for key, values in self.sheet.items()
        }
        sheet["_uid"] = np.arange(n + len(source))
        sheet["_order"] = np.concatenate([np.arange(n) * 2, source * 2 + 1])
        return sheet

    def invalid_plans(self) -> list[dict[str, str]]:
        """Return the broken plans: school folder, pupil reference as written (masked), rule."""
        return [
            {
                "school_code": self.schools[int(self.pupils["school"][p])].code,
                "pupil_ref": mask(str(self.sheet["pupil_ref"][self._rows(p)[0]])),
                "rule": rule,
            }
            for p, rule in sorted(self.rules.items())
        ]

    def _rows(self, pupil: int) -> range:
        return range(int(self.bounds[pupil]), int(self.bounds[pupil + 1]))

    def _rows_with(self, pupil: int, column: str) -> list[int]:
        return [r for r in self._rows(pupil) if self.sheet[column][r] is not None]

    def _eligible(self, rule: str, pupil: int) -> bool:
        column = _NEEDS.get(rule)
        return column is None or bool(self._rows_with(pupil, column))

    def _set(self, rows: list[int] | range, column: str | None, rule: str, value: Any) -> None:
        for r in rows:
            if column is not None:
                self.sheet[column][r] = value
            self.mistakes.append(Mistake(r, column, rule, cell_text(value, ".")))

    def _pick(self, pupil: int, column: str) -> list[int]:
        rows = self._rows_with(pupil, column)
        return [rows[int(self.rng.integers(len(rows)))]]

    def _personal_code(self, pupil: int) -> None:
        if self.rng.random() < 0.3:
            code = f"32{self.rng.integers(10**4):04d}-{self.rng.integers(10**5):05d}"
        else:
            day, month, year = (
                int(self.rng.integers(low, high)) for low, high in ((1, 29), (1, 13), (8, 17))
            )
            code = f"{day:02d}{month:02d}{year:02d}-2{self.rng.integers(10**4):04d}"
        self._set(self._rows(pupil), "pupil_ref", "personal_code", code)

    def _unknown_measure(self, pupil: int) -> None:
        row = self._rows(pupil)[int(self.rng.integers(len(self._rows(pupil))))]
        self.sheet["subject"][row] = None
        self._set([row], "measure", "unknown_measure", self._choice(_UNKNOWN["measure"]))

    def _unknown_subject(self, pupil: int) -> None:
        self._set(
            self._pick(pupil, "subject"),
            "subject",
            "unknown_subject",
            self._choice(_UNKNOWN["subject"]),
        )

    def _missing_subject(self, pupil: int) -> None:
        self._set(self._pick(pupil, "subject"), "subject", "missing_subject", None)

    def _missing_hours(self, pupil: int) -> None:
        self._set(self._pick(pupil, "hours_per_month"), "hours_per_month", "missing_hours", None)

    def _missing_provider(self, pupil: int) -> None:
        self._set(self._pick(pupil, "provider_ref"), "provider_ref", "missing_provider", None)

    def _hours_over_max(self, pupil: int) -> None:
        value = self.programme.max_hours_per_month + self._choice((2, 4, 10, 20))
        self._set(
            self._pick(pupil, "hours_per_month"), "hours_per_month", "hours_over_max", float(value)
        )

    def _over_cap(self, pupil: int) -> None:
        [row] = self._pick(pupil, "eur_per_month")
        others = sum(self.sheet["eur_per_month"][r] or 0.0 for r in self._rows(pupil) if r != row)
        value = self.programme.monthly_cap_eur - others + self._choice((10, 50, 120))
        self._set([row], "eur_per_month", "over_cap", float(value))

    def _grade_out_of_range(self, pupil: int) -> None:
        low, high = self.programme.grade_min, self.programme.grade_max
        values = [g for g in (low - 1, low - 2, high + 1) if g > 0]
        self._set(self._rows(pupil), "grade", "grade_out_of_range", self._choice(values))

    def _missing_goal(self, pupil: int) -> None:
        self._set(self._rows(pupil), "goal", "missing_goal", None)

    def _missing_risk(self, pupil: int) -> None:
        self._set(self._rows(pupil), "risk_categories", "missing_risk", None)

    def _unknown_risk(self, pupil: int) -> None:
        current = self.sheet["risk_categories"][self._rows(pupil)[0]]
        value = f"{current};{self._choice(_UNKNOWN['risk'])}"
        self._set(self._rows(pupil), "risk_categories", "unknown_risk", value)

    def _duplicate_row(self, pupil: int) -> None:
        row = self._rows(pupil)[int(self.rng.integers(len(self._rows(pupil))))]
        uid = len(self.sheet["_pupil"]) + len(self.copies)
        self.copies.append(row)
        self.mistakes.append(Mistake(uid, None, "duplicate_row", ""))

    def _wrong_school(self, pupil: int) -> None:
        own = int(self.pupils["school"][pupil])
        other = (own + 1 + int(self.rng.integers(len(self.schools) - 1))) % len(self.schools)
        self._set(self._rows(pupil), "school_code", "wrong_school", self.schools[other].code)

    def _choice(self, values: tuple[Any, ...] | list[Any]) -> Any:
        return values[int(self.rng.integers(len(values)))]
