"""Jinja2 rendering of emails and pages: one template each, texts through the catalogue.

Templates use Jinja's i18n extension: `{{ _("Plan returned") }}`, `{% trans %}…{% endtrans %}`
and `{{ ngettext("%(num)s plan", "%(num)s plans", count) }}`, where `%(num)s` is the count
formatted the reader's way. Filters format numbers, amounts, percentages and dates likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from pumpurs.i18n import formats
from pumpurs.i18n import texts as i18n
from pumpurs.i18n.catalogue import translations

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@cache
def environment(language: str) -> Environment:
    """Return the template environment for one language (filters format the local way)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    _install_texts(env, language)
    env.globals["language"] = language
    env.globals["t"] = lambda message_id, **params: i18n.translate(message_id, language, **params)
    env.filters["number"] = lambda value, digits=1: fmt_number(value, language, digits)
    env.filters["percent"] = lambda value, digits=0: fmt_percent(value, language, digits)
    env.filters["date"] = lambda value: i18n.fmt_date(value, language)
    env.filters["day"] = lambda value: i18n.fmt_day(value, language)
    env.filters["plural"] = lambda count, one, many: i18n.plural(count, one, many, language)
    env.filters["amount"] = lambda value: formats.fmt_amount(value, language)
    return env


def _install_texts(env: Environment, language: str) -> None:
    """Give the templates `_`, `gettext` and `ngettext` of the language's catalogue.

    The same semantics as Jinja's "new style" gettext (parameters as keywords, HTML-escaped in
    HTML templates, the message always %-formatted), and `%(num)s` formatted the local way.
    """
    catalogue = translations(language)

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text: str = catalogue.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", formats.fmt_number(num, language, 0))
        text: str = catalogue.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    # Jinja's own "new style" wrappers would format a second time: the callables go in as they are.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=gettext, ngettext=ngettext)


@lru_cache(maxsize=1 << 16)
def fmt_number(value: float | int, language: str = "lv", digits: int = 1) -> str:
    """Return `i18n.fmt_number`, remembered: a summary run formats the same numbers 100,000 times.

    Babel takes ~70 µs a number; equal numbers format alike whatever their type (1 and 1.0).
    """
    return i18n.fmt_number(value, language, digits)


@lru_cache(maxsize=1 << 16)
def fmt_percent(share: float, language: str = "lv", digits: int = 0) -> str:
    """Return `i18n.fmt_percent`, remembered (see `fmt_number`)."""
    return i18n.fmt_percent(share, language, digits)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, language: str, **context: Any) -> RenderedEmail:
    """Render `email/<language>/<name>.txt` and `.html`; the subject is set in the .txt one."""
    env = environment(language)
    text_module = env.get_template(f"email/{language}/{name}.txt").make_module(context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"email/{language}/{name}.txt sets no subject")
    html = env.get_template(f"email/{language}/{name}.html").render(context | {"subject": subject})
    return RenderedEmail(subject=subject, text=str(text_module).strip() + "\n", html=_inline(html))


def render_page(name: str, language: str, **context: Any) -> str:
    """Render the page template `pages/<name>.html`."""
    return environment(language).get_template(f"pages/{name}.html").render(context)


@cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def _inline(html: str) -> str:
    # Mail clients drop <style> blocks; inline styles survive.
    result: str = _inliner().inline(html)
    return result
