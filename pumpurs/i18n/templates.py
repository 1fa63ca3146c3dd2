"""Jinja2 rendering of emails and pages: one template each, texts through the catalogue.

Templates use Jinja's i18n extension: `{{ _("Plan returned") }}`, `{% trans %}…{% endtrans %}`
and `{{ ngettext("%(num)s plan", "%(num)s plans", count) }}`, where `%(num)s` is the count
formatted the reader's way. Filters format numbers, amounts, percentages and dates likewise;
`strong`, `em` and `code` mark a parameter up in an HTML email, so the message itself carries
no markup and the text and HTML versions share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context
from markupsafe import Markup, escape

from pumpurs.i18n import formats
from pumpurs.i18n.catalogue import plural_count, translations

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
        extensions=["jinja2.ext.i18n", _TranslatedWhenCompiled],
        # The templates ship with the code: read and compiled once per process, never
        # checked again for changes (each check is a stat per template and include).
        auto_reload=False,
    )
    _install_texts(env, language)
    env.globals["language"] = language
    env.filters["number"] = lambda value, digits=1: formats.fmt_number(value, language, digits)
    env.filters["amount"] = lambda value: formats.fmt_amount(value, language)
    env.filters["percent"] = lambda value, digits=0: formats.fmt_percent(value, language, digits)
    env.filters["date"] = lambda value: formats.fmt_date(value, language)
    env.filters["day"] = lambda value: formats.fmt_day(value, language)
    env.filters["ordinal"] = lambda value: formats.fmt_ordinal(value, language)
    for tag in ("strong", "em", "code"):
        env.filters[tag] = _wrap_in(tag)
    return env


def _wrap_in(tag: str) -> Callable[[Any], Markup]:
    """Return a filter that wraps a value in an HTML tag, for a parameter of an HTML message.

    `{{ _("New plans: %(count)s.", count=count | strong) }}`: the message stays free of markup,
    shared with the text version of the email.
    """
    opening, closing = Markup(f"<{tag}>"), Markup(f"</{tag}>")
    return lambda value: opening + escape(value) + closing


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
    def ngettext(
        context: Context, singular: str, plural: str, n: float, /, **variables: Any
    ) -> str:
        variables.setdefault("num", formats.fmt_number(n, language, 0))
        text: str = catalogue.ngettext(singular, plural, plural_count(n))
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    # Jinja's own "new style" wrappers would format a second time: the callables go in as they are.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=gettext, ngettext=ngettext)
    env.extend(pumpurs_catalogue=catalogue)  # for _TranslatedWhenCompiled


class _TranslatedWhenCompiled(Extension):
    """Translate `_("a literal")` without parameters when a template is compiled.

    The environment is one language's, so such a text is a constant of the compiled template:
    the same string `gettext` would return on every render (as markup in an HTML template),
    without a call per text per render. Texts with parameters, `ngettext` and `{% trans %}`
    stay calls.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        catalogue = getattr(self.environment, "pumpurs_catalogue", None)
        tokens = list(stream)
        if catalogue is None:
            yield from tokens
            return
        autoescape = self.environment.autoescape
        html = autoescape(stream.name) if callable(autoescape) else autoescape
        shape = ("name", "lparen", "string", "rparen")
        skip = 0
        for n, token in enumerate(tokens):
            if skip:
                skip -= 1
                continue
            call = tokens[n : n + 4]
            if (
                tuple(t.type for t in call) == shape
                and token.value in ("_", "gettext")
                and (n == 0 or tokens[n - 1].type != "dot")
            ):
                text = catalogue.gettext(call[2].value) % {}
                line = token.lineno
                if html:  # `("…" | safe)`: folded into a constant of markup when compiled
                    yield Token(line, "lparen", "(")
                    yield Token(line, "string", text)
                    yield Token(line, "pipe", "|")
                    yield Token(line, "name", "safe")
                    yield Token(line, "rparen", ")")
                else:
                    yield Token(line, "string", text)
                skip = 3
                continue
            yield token


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, language: str, **context: Any) -> RenderedEmail:
    """Render `email/<name>.txt` and `.html` in the language; the .txt one sets the subject."""
    env = environment(language)
    text_module = env.get_template(f"email/{name}.txt").make_module(context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"email/{name}.txt sets no subject")
    html = env.get_template(f"email/{name}.html").render(context | {"subject": subject})
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
