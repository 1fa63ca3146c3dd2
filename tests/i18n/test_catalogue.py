"""The catalogue: every message of the code and templates translated, the compiled catalogue
fresh, and Latvian's three plural forms chosen as CLDR says."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from pumpurs.i18n.catalogue import LOCALE_DIR, N_, plural_count, texts, translations
from pumpurs.i18n.formats import NBSP

REPO = Path(__file__).resolve().parents[2]
PO = LOCALE_DIR / "lv" / "LC_MESSAGES" / "pumpurs.po"
MO = PO.with_suffix(".mo")
SOURCES = {"pumpurs", "flows", "tasks", "templates"}  # what babel.cfg maps, at the top level
PARAMETER = re.compile(r"%\((\w+)\)s")


@cache
def extracted() -> dict[str | tuple[str, str], list[str]]:
    """Return every message the code and templates use, with where each is used.

    Extracted as `make texts` does: Babel's extractors with the mapping in babel.cfg.
    """
    with open(REPO / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]

    def wanted(path: str) -> bool:
        top = Path(path).relative_to(REPO).parts[:1]
        return not top or top[0] in SOURCES

    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, line, message, _comments, context in extract_from_dir(
        REPO, method_map, options_map, keywords=DEFAULT_KEYWORDS, directory_filter=wanted
    ):
        assert context is None, f"{filename}:{line}: no message contexts in this catalogue"
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, []).append(f"{filename}:{line}")
    return found


@cache
def catalogue() -> Catalog:
    with open(PO, "rb") as handle:
        return read_po(handle, locale="lv")


def _key(message: Message) -> str | tuple[str, str]:
    return message.id if isinstance(message.id, str) else (message.id[0], message.id[1])


def test_the_code_and_templates_use_hundreds_of_messages() -> None:
    found = extracted()
    assert len(found) > 400
    assert "PuMPuRS coordination" in found  # templates
    assert "Semester %(code)s has not been opened. Run first: pumpurs open-semester %(code)s" in (
        found  # N_ in the code
    )
    assert ("%(num)s row", "%(num)s rows") in found  # ngettext


def test_every_message_has_a_latvian_translation() -> None:
    entries = {_key(m): m for m in catalogue() if m.id}
    untranslated = []
    for key, places in extracted().items():
        entry = entries.get(key)
        if entry is None or entry.fuzzy or not all(_forms(entry)):
            untranslated.append(f"{key!r} ({places[0]})")
    assert not untranslated, "run `make texts` and translate in the .po:\n" + "\n".join(
        untranslated
    )


def test_the_catalogue_holds_no_message_the_code_no_longer_uses() -> None:
    stale = [m.id for m in catalogue() if m.id and _key(m) not in extracted()]
    assert not stale, f"run `make texts` to drop them: {stale}"


def test_every_plural_entry_has_the_three_latvian_forms() -> None:
    plurals = [m for m in catalogue() if m.id and m.pluralizable]
    assert len(plurals) > 40
    for message in plurals:
        assert len(_forms(message)) == 3 and all(_forms(message)), message.id


def test_each_translation_fills_in_the_same_parameters() -> None:
    for message in catalogue():
        if not message.id:
            continue
        wanted = set(PARAMETER.findall(_ids(message)[-1]))
        for form in _forms(message):
            found = set(PARAMETER.findall(form))
            # a counted form may leave the count out ("viss pieņemts"), never add a parameter
            assert found <= wanted and wanted - found <= {"num"}, (message.id, form)
            assert form.count("%") == 2 * form.count("%%") + len(PARAMETER.findall(form)), form


def _forms(message: Message) -> list[str]:
    """The translation's forms: one, or one per plural form."""
    return _texts(message.string)


def _ids(message: Message) -> list[str]:
    """The message's ids: one, or the singular and the plural."""
    return _texts(message.id)


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    assert isinstance(value, (list, tuple)), value
    return [str(text) for text in value]


def test_the_plural_forms_are_latvian_as_cldr_gives_them() -> None:
    cldr = Locale.parse("lv").plural_form
    order = {"zero": 0, "one": 1, "other": 2}  # the order of msgstr[0..2] in the .po
    assert catalogue().num_plurals == 3
    chooser = translations("lv").plural  # type: ignore[attr-defined]  # the header's formula
    assert [chooser(n) for n in range(1001)] == [order[cldr(n)] for n in range(1001)]


def test_the_compiled_catalogue_is_the_po_compiled() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue())
    assert MO.read_bytes() == compiled.getvalue(), "run `make texts` to compile the .po"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 rindas"),
        (1, "1 rinda"),
        (2, "2 rindas"),
        (10, "10 rindas"),
        (11, "11 rindas"),
        (21, "21 rinda"),
        (22, "22 rindas"),
        (111, "111 rindas"),
        (1671, f"1{NBSP}671 rinda"),
    ],
)
def test_latvian_counted_phrases_take_the_form_of_their_count(count: int, expected: str) -> None:
    assert texts("lv").ngettext("%(num)s row", "%(num)s rows", count) == expected


def test_english_is_the_messages_themselves() -> None:
    t = texts("en")
    assert t.ngettext("%(num)s row", "%(num)s rows", 1) == "1 row"
    assert t.ngettext("%(num)s row", "%(num)s rows", 1670) == "1,670 rows"
    assert t.gettext("Semester %(code)s opened", code="2026/2027-1") == (
        "Semester 2026/2027-1 opened"
    )


def test_parameters_are_filled_in_and_a_percent_sign_is_written_twice() -> None:
    t = texts("lv")
    assert t.gettext("Figures as of %(day)s.", day="20.01.2027.") == "Dati sagatavoti 20.01.2027."
    assert t.gettext("below 50%%") == f"zem 50{NBSP}%"
    assert t.ngettext("%(num)s percentage point", "%(num)s percentage points", 2, num="-2") == (
        "-2 procentpunkti"
    )


def test_a_count_kept_as_a_float_or_a_fraction_picks_a_form() -> None:
    assert plural_count(21.0) == 21
    assert plural_count(2.5) == 2
    assert texts("lv").ngettext("%(num)s month", "%(num)s months", 1.0) == "1 mēnesis"
    assert texts("en").ngettext("%(num)s month", "%(num)s months", 1.5, num="1.5") == "1.5 months"


def test_n_marks_a_message_without_translating_it() -> None:
    assert N_("approved") == "approved"
    assert texts("lv").gettext(N_("approved")) == "apstiprināts"
