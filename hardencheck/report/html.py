"""The auditor's report: one self-contained HTML file, organised by TOM item.

Rendered from the report view of a results.json document (``render(view, lang)``, see
``report.view``), with jinja2 templates in ``templates/`` (autoescaping on, undefined variables
are errors). ``html_context`` prepares the data for the templates, ``html_text`` makes host text
safe; no HTML is built in Python.

Safety: every string that came from a host (outputs, actual values, messages, host names, noise)
is hostile. It is autoescaped; control, invisible and bidi characters are split out here so the
template shows them as highlighted visible escapes; very long texts are shown up to the 64 KiB
evidence limit with the rest counted. The page carries a Content-Security-Policy that allows no
script and no fetch at all (``default-src 'none'``), only inline styles and data: images.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from functools import lru_cache

import jinja2

from markupsafe import Markup

from hardencheck.report.html_context import build_context
from hardencheck.report.html_text import css_str, plain, segments
from hardencheck.report.template_cache import template_cache
from hardencheck.report.view import ReportView


@lru_cache(maxsize=1)
def jinja_environment() -> jinja2.Environment:
    settings = dict(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env = jinja2.Environment(loader=jinja2.PackageLoader("hardencheck.report", "templates"),
                             bytecode_cache=template_cache(repr(sorted(settings.items()))), **settings)
    env.filters["seg"] = segments
    env.tests["plain"] = plain                  # t() would change nothing
    env.filters["css_str"] = lambda s: Markup(css_str(s))   # the print edition's running header
    return env


def encode_chunks(pieces, batch: int = 8192) -> Iterator[bytes]:
    """A template's output pieces as UTF-8 bytes, joined in batches: ``Template.render`` first
    lists every piece of the page (for a fleet's report about a million small strings, several
    times the page's size in memory)."""
    part: list[str] = []
    for piece in pieces:
        part.append(piece)
        if len(part) >= batch:
            yield "".join(part).encode("utf-8", "replace")
            part.clear()
    yield "".join(part).encode("utf-8", "replace")


def encode_stream(pieces, batch: int = 8192) -> bytes:
    """``encode_chunks``, joined."""
    return b"".join(encode_chunks(pieces, batch))


def render_chunks(view: ReportView, lang: str = "en") -> Iterator[bytes]:
    """The report in chunks as the template makes them (a scan writes them to the bundle as they
    come: the page is never whole in memory). It quotes ``view.sha256``, the hash of the
    results.json bytes it stands for."""
    if lang not in ("en", "de"):
        raise ValueError(f"unknown language {lang!r}")
    # The cyclic garbage collector is paused while the page is built: a fleet's context and page
    # are millions of new objects, none of them cyclic garbage, and each collection pass re-walks
    # them (and the document): about half of the render time at 500 hosts x 60 controls.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ctx = build_context(view, lang)
        yield from encode_chunks(jinja_environment().get_template("report.html.j2").generate(**ctx))
    finally:
        if gc_was_enabled:
            gc.enable()


def render(view: ReportView, lang: str = "en") -> bytes:
    """The report, whole (``render_chunks``)."""
    return b"".join(render_chunks(view, lang))
