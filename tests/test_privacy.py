from __future__ import annotations

import pandas as pd
import pytest

from pumpurs.privacy import code_shaped, looks_like_personal_code, mask, mask_series


@pytest.mark.parametrize(
    ("value", "shaped", "masked"),
    [
        ("120309-12345", True, "12****-*****"),
        ("12030912345", True, "12*********"),
        ("321234-56789", True, "32****-*****"),
        ("Skolēns 010101-11111", True, "Skolēns 01****-*****"),
        ("P-7F3K2Q", False, "P-7F3K2Q"),
        ("2026-12345", False, "2026-12345"),
        ("320000", False, "320000"),
        ("991399-12345", False, "991399-12345"),  # month 13 is no date
    ],
)
def test_personal_code_shapes_are_found_and_masked(value: str, shaped: bool, masked: str) -> None:
    assert looks_like_personal_code(value) is shaped
    assert mask(value) == masked


def test_vectorised_versions_agree_with_the_scalar_ones() -> None:
    values = pd.Series(["120309-12345", "P-1", None, "x 321234-56789"])
    assert code_shaped(values).tolist() == [True, False, False, True]
    assert mask_series(values).tolist()[0] == "12****-*****"
    assert pd.isna(mask_series(values).tolist()[2])
