"""Every email in both languages from one template: Latvian plurals right, no English left."""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from pumpurs.i18n.catalogue import LOCALE_DIR
from pumpurs.i18n.templates import TEMPLATES, RenderedEmail, render_email, render_page
from tests.i18n.emails import COUNTS, EMAILS, Email

TAG = re.compile(r"<[^>]+>")
PARAMETER = re.compile(r"%\(\w+\)s|%%")
CASES = [pytest.param(email, id=f"{email.name}-{index}") for index, email in enumerate(EMAILS)]


def test_each_email_has_one_template_pair_and_a_context_here() -> None:
    names = {path.stem for path in (TEMPLATES / "email").glob("*.txt")}
    assert names == {email.name for email in EMAILS}
    assert all((TEMPLATES / "email" / f"{name}.html").is_file() for name in names)
    assert not [p for p in (TEMPLATES / "email").iterdir() if p.is_dir()]  # no lv/, en/


@pytest.mark.parametrize("email", CASES)
@pytest.mark.parametrize("count", COUNTS)
def test_latvian_counted_phrases_take_the_form_of_their_count(email: Email, count: int) -> None:
    rendered = render_email(email.name, "lv", **email.context(count))
    text = rendered.subject + "\n" + rendered.text
    shown = _plain(rendered.html)
    for phrase in email.counted(count):
        assert phrase in text or phrase in shown, f"{phrase!r} not in:\n{text}"


@pytest.mark.parametrize("email", CASES)
@pytest.mark.parametrize("language", ["lv", "en"])
def test_every_email_renders_a_subject_text_and_html(email: Email, language: str) -> None:
    for count in COUNTS:
        rendered = render_email(email.name, language, **email.context(count))
        assert rendered.subject and "\n" not in rendered.subject
        assert not TAG.search(rendered.text), rendered.text
        assert rendered.html.startswith("<!DOCTYPE html>") and f'lang="{language}"' in rendered.html
        assert "PuMPuRS" in rendered.subject + rendered.text


@pytest.mark.parametrize("email", CASES)
def test_no_english_is_left_in_a_latvian_email(email: Email) -> None:
    for count in COUNTS:
        rendered = render_email(email.name, "lv", **email.context(count))
        for part in (rendered.subject, rendered.text, _plain(rendered.html)):
            left = [fragment for fragment in english_fragments() if _contains(part, fragment)]
            assert not left, f"English in the Latvian {email.name}: {left}\n{part}"


@pytest.mark.parametrize("email", CASES)
def test_an_english_email_is_english(email: Email) -> None:
    rendered = render_email(email.name, "en", **email.context(2))
    assert rendered.text.startswith("Hello,") and "Kind regards" in rendered.text
    assert "Labdien" not in rendered.text and "Ar cieņu" not in _plain(rendered.html)


def test_the_check_for_english_finds_english() -> None:
    sample = "Labdien!\nThe links are valid through 06.10.2026.\nAr cieņu"
    assert [f for f in english_fragments() if _contains(sample, f)]
    assert not [f for f in english_fragments() if _contains("Labdien!\nAr cieņu", f)]


@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_home_page_is_in_the_language(language: str) -> None:
    page = render_page("home", language)
    expected = "Atveriet saiti" if language == "lv" else "Open the link"
    assert expected in page and f'lang="{language}"' in page


@cache
def english_fragments() -> tuple[str, ...]:
    """Return the English words of every message Latvian translates differently.

    A message's text between its parameters is a fragment; fragments the Latvian translations
    themselves use (catalogue keys such as `improved`), messages the same in both languages
    ("PuMPuRS", a bare parameter) and bits without a word of three letters are left out.
    """
    with open(LOCALE_DIR / "lv" / "LC_MESSAGES" / "pumpurs.po", "rb") as handle:
        catalogue = read_po(handle, locale="lv")
    latvian: list[str] = []
    english: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = _texts(message.id)
        forms = _texts(message.string)
        latvian += forms
        if set(forms) == set(ids):
            continue
        for msgid in ids:
            for fragment in PARAMETER.split(msgid):
                fragment = fragment.strip(" .,:;()—–-…")
                if re.search(r"[A-Za-z]{3}", fragment):
                    english.add(fragment)
    used = "\n".join(latvian)
    return tuple(sorted(f for f in english if f not in used))


def _contains(text: str, fragment: str) -> bool:
    """Say whether a fragment stands in the text as words (not inside a path or address)."""
    pattern = rf"(?<![\w/@.-]){re.escape(fragment)}(?![\w/@-])"
    return re.search(pattern, text) is not None


def _plain(page: str) -> str:
    return html.unescape(TAG.sub(" ", page))


def _rendered(name: str, language: str, count: int) -> RenderedEmail:
    email = next(e for e in EMAILS if e.name == name)
    return render_email(name, language, **email.context(count))


def test_a_parameter_marked_up_in_html_is_plain_in_text() -> None:
    rendered = _rendered("approval_digest", "lv", 2)
    assert "Jauno plānu skaits: <strong>1</strong>." in rendered.html
    assert "Jauno plānu skaits: 1." in rendered.text


def test_the_templates_folder_has_no_per_language_copies() -> None:
    assert not list(Path(TEMPLATES).rglob("lv")) and not list(Path(TEMPLATES).rglob("en"))


@pytest.mark.parametrize("email", CASES)
def test_a_latvian_date_ending_a_sentence_gets_no_second_full_stop(email: Email) -> None:
    for count in COUNTS:
        rendered = render_email(email.name, "lv", **email.context(count))
        for part in (rendered.subject, rendered.text, html.unescape(TAG.sub("", rendered.html))):
            assert not re.search(r"\d\.\.(?!\.)", part), part


@pytest.mark.parametrize("name", ["approval_digest", "approval_reminder"])
def test_amounts_in_eur_keep_both_decimals(name: str) -> None:
    rendered = _rendered(name, "lv", 2)
    assert "63,50 EUR" in rendered.text and "63,5 EUR" not in rendered.text
    assert "63,50" in rendered.html or name == "approval_reminder"  # its HTML shows no amounts
    assert "63.50 EUR" in _rendered(name, "en", 2).text


def test_the_escalation_subject_counts_a_plan_waiting_exactly_the_limit() -> None:
    subject = _rendered("escalation", "lv", 10).subject
    assert "10 dienas vai ilgāk" in subject and "ilgāk par" not in subject
    english = _rendered("escalation", "en", 10).subject
    assert "10 days or longer" in english and "more than" not in english


def _report(language: str, rejected: int, unreadable: bool, plans: int = 3) -> RenderedEmail:
    email = next(e for e in EMAILS if e.name == "intake_report")
    context = email.context(rejected)
    files = context["files"] if unreadable else context["files"][:1]
    counts = dict.fromkeys(("new", "revised", "unchanged"), plans)
    return render_email("intake_report", language, **context | {"files": files, "plans": counts})


@pytest.mark.parametrize("rejected", [0, 2])
def test_a_report_subject_counts_unreadable_files_too(rejected: int) -> None:
    subject = _report("lv", rejected, unreadable=True).subject
    assert "nenolasāmu failu: 1" in subject and "viss pieņemts" not in subject, subject
    english = _report("en", rejected, unreadable=True).subject
    assert "1 file unreadable" in english and "all accepted" not in english, english
    assert ("noraidīto rindu: 2" in subject) == bool(rejected)


def test_an_all_accepted_report_says_all_accepted_and_claims_no_routing() -> None:
    rendered = _report("en", 0, unreadable=False)
    assert rendered.subject.endswith("all accepted")
    for part in (rendered.text, _plain(rendered.html)):
        assert "regional coordinator" not in part and "have been sent" not in part
        assert "next approval round" in part
    unchanged = _report("en", 0, unreadable=False, plans=0)
    assert "approval" not in unchanged.text


def _texts(value: object) -> list[str]:
    """A catalogue entry's id or translation as its list of texts (one, or one per plural form)."""
    if isinstance(value, str):
        return [value]
    assert isinstance(value, (list, tuple)), value
    return [str(text) for text in value]


def test_texts_without_parameters_are_translated_when_compiled_as_at_render() -> None:
    from jinja2 import DictLoader

    from pumpurs.i18n.catalogue import translations
    from pumpurs.i18n.templates import environment

    source = (
        '<p>{{ _("School") }} · {{ _("Grade") }} · {{ gettext("Goal of the plan") }}</p>'
        '<p>{{ _("subject: %(subject)s", subject=name) }}</p>'
    )
    env = environment("lv")
    compiled = env.compile(source, name="probe.html", raw=True)
    # The texts without parameters are constants of the compiled template; the one with one
    # is still a call.
    school = translations("lv").gettext("School")
    assert school != "School"
    assert f"'<p>{school} · " in compiled and "'School'" not in compiled
    assert "subject: %(subject)s" in compiled
    runtime = env.overlay(loader=DictLoader({"probe.html": source}))
    delattr(runtime, "pumpurs_catalogue")  # the overlay without the compile-time translation
    assert hasattr(env, "pumpurs_catalogue")
    expected = runtime.get_template("probe.html").render(name="<b>")
    ours = env.overlay(loader=DictLoader({"probe.html": source}))
    assert ours.get_template("probe.html").render(name="<b>") == expected
    assert school in expected and "&lt;b&gt;" in expected
