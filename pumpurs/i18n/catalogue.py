"""The one text catalogue: gettext through Babel, Latvian by default, English by setting.

Every text a person reads is written in English in the code or a template and translated in
`locale/lv/LC_MESSAGES/pumpurs.po` (`pybabel extract / update / compile`, see `babel.cfg`; the
compiled `.mo` beside it is committed and kept fresh by a test). Parameters are written
`%(name)s`, as Jinja's i18n extension writes them. A counted phrase uses `ngettext`: Latvian has
three forms (CLDR: 0, 10–20, 30 …; 1, 21, 31 … but not 11; the rest), and `%(num)s` in it is
the count formatted the reader's way (`1 670`).

    t = texts("lv")
    t.gettext("Semester %(code)s opened", code="2026/2027-1")
    t.ngettext("%(num)s row", "%(num)s rows", 22)

Texts chosen at run time (an error kind, a role) are marked with `N_` where they are written,
so extraction finds them, and translated with `gettext` where they are shown.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Any

from pumpurs.i18n.formats import fmt_number

DOMAIN = "pumpurs"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE = "en"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Return the compiled catalogue of a language (English is the messages themselves)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as handle:
        return gettext.GNUTranslations(handle)


class Texts:
    """The texts of one language, with parameters filled in."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalogue = translations(language)

    def gettext(self, message: str, **params: Any) -> str:
        """Return the message translated, with `%(name)s` parameters filled in.

        As in Jinja's templates, the message is always formatted: a literal percent sign is
        written `%%`.
        """
        return self._catalogue.gettext(message) % params

    def ngettext(self, singular: str, plural: str, n: float, /, **params: Any) -> str:
        """Return the form of a counted phrase for the count `n`.

        `%(num)s` is the count formatted the reader's way, unless `num` is given (a count with
        a sign, say).
        """
        text = self._catalogue.ngettext(singular, plural, plural_count(n))
        params.setdefault("num", fmt_number(n, self.language, 0))
        return text % params


def plural_count(num: float) -> int:
    """Return the whole number that picks the form of a counted phrase for `num`.

    gettext's plural rules take whole numbers; a count kept as a float (`40.0`) is one. A
    fraction takes the "other" form in English and Latvian alike (1.5 hours, 1,5 stundas), the
    form 2 picks in both.
    """
    whole = int(num)
    return whole if whole == num else 2


@cache
def texts(language: str) -> Texts:
    """Return the texts of a language (`lv` or `en`)."""
    return Texts(str(language))


def N_(message: str) -> str:
    """Mark a message for extraction where it is written; `Texts.gettext` translates it."""
    return message
