"""One German word per status in every format.

From ONE real lab scan (every lab host, every control, recorded into a history) the run report
(HTML), the Markdown summary, the CSV, the terminal summary and the annual report (audit.html,
from the history holding that run) are rendered in German. For every status each format shows,
the word must be ``report.i18n``'s, so it is the same in all of them; and none of the words the
formats used before for the same verdict ("gescheitert", "fehlgeschlagen", "nicht verifiziert",
"eingehalten", "Fehler (nicht prüfbar)") nor "Host" for a machine appears.

The English CSV keeps machine-readable status codes and stable English column names for
scripts; the German CSV is the auditor's spreadsheet: German column headers, the same status
words as every other format, German control titles and finding sentences, ``;`` between cells.
The German reports say every control's title and every finding in German (the control's ``de:``
block; report/sentences.py), never the English sentences of results.json.

The annual report's outcomes of a measure or control in a run are the TOM roll-up's verdicts:
held is ``met`` (erfüllt), failed is ``not_met`` (nicht erfüllt).
"""

from __future__ import annotations

import contextlib
import csv
import html as htmlmod
import io
import json
import re

import pytest
from rich.console import Console

from hardencheck.report import csv_format, i18n, markdown
from hardencheck.report.rendering import renderer
from hardencheck.report.audit_html import COLORS, A
from hardencheck.report.i18n_html import T
from hardencheck.report.markdown import LABELS
from hardencheck.report.terminal import _DE as TERMINAL_DE
from hardencheck.report.terminal import summary_from_doc
from hardencheck.report.view import build_view
from hardencheck.results import STATUSES

#: Words formats used for a verdict before the vocabulary was one: none may appear in German.
OTHER_WORDS = {
    "fail": ("gescheitert", "scheitert", "scheitern", "scheiterte", "fehlgeschlagen"),
    "not_verified": ("nicht verifiziert",),
    "met": ("eingehalten",),
    "error": ("Fehler (nicht prüfbar)",),
}
#: A scanned machine is a "Server" in German, never a "Host".
HOST_WORD = re.compile(r"(?<![-\w])Hosts?(?![-\w])")     # "SSH-Host-Schlüssel" is a compound: allowed

#: The annual report's outcomes are roll-up verdicts.
OUTCOME_IS = {"held": "met", "held_with_exceptions": "met_with_exceptions", "failed": "not_met",
              "not_verified": "not_verified",
              "not_applicable": "not_applicable", "not_assessed": "not_assessed"}


def expected(status: str) -> str:
    """The German word of a result status or a roll-up status (not_applicable is both, one word)."""
    table = i18n.STATUS if status in i18n.STATUS else i18n.ROLLUP
    return i18n.word(table, status, "de")


def _text(page: str) -> str:
    """Visible text of a page without the hosts' raw output (<pre> evidence is host data)."""
    page = re.sub(r"<pre[^>]*>.*?</pre>", "", page, flags=re.DOTALL)
    page = re.sub(r"<(style|title)[^>]*>.*?</\1>", "", page, flags=re.DOTALL)
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture(scope="module")
def german(lab, tmp_path_factory):
    """The German renderings of one lab scan: {format: text} and the words each uses per status."""
    from hardencheck.cli import main

    out = tmp_path_factory.mktemp("vocabulary")
    db = out / "history.db"
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                     "--ssh-config", "/dev/null", "--out", str(out / "runs"), "--quiet", "--format", "json",
                     "--history", str(db), "--lang", "de"])
    assert code in (1, 2)
    (path,) = (out / "runs").glob("*/results.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    view = build_view(doc)
    day = doc["run"]["started_at"][:10]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["audit", "--from", day, "--to", day, "--history", str(db), "--out", str(out / "audit"),
                     "--lang", "de"]) == 0
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=300, color_system=None), doc, results_path=str(path),
                     exit_code=code, lang="de")
    return {
        "doc": doc,
        "html": renderer("html")(view, "de").decode("utf-8"),
        "md": renderer("md")(view, "de").decode("utf-8"),
        "csv": renderer("csv")(view, "de"),
        "csv_en": renderer("csv")(view, "en"),
        "md_en": renderer("md")(view, "en").decode("utf-8"),
        "terminal": buf.getvalue(),
        "audit": (out / "audit" / "audit.html").read_text(encoding="utf-8"),
    }


def html_words(page: str) -> dict[str, set[str]]:
    """Status badges of the run report: class s-<status>, the word inside."""
    words: dict[str, set[str]] = {}
    for status, word in re.findall(r'<span class="badge s-(\w+)"[^>]*>([^<]+)</span>', page):
        words.setdefault(status, set()).add(htmlmod.unescape(word))
    return words


def markdown_words(text: str, doc: dict) -> dict[str, set[str]]:
    """The totals table's header (one column per result status), the TOM counts line and the
    status column of the open-measures table."""
    lines = text.splitlines()
    i = lines.index(f"### {LABELS['de']['totals']}")
    header = [c.strip() for c in lines[i + 2].strip("|").split("|")]
    words = {st: {w} for st, w in zip(STATUSES, header)}
    view = build_view(doc)
    tom_line = next(line for line in lines if line.startswith(f"{LABELS['de']['tom_counts']}: "))
    counted = re.findall(r"(\d+) ([^,\d]+)", tom_line.split(": ", 1)[1])
    for (st, n), (shown_n, word) in zip(view.tom_counts.items(), counted):
        assert int(shown_n) == n
        words.setdefault(st, set()).add(word.strip())
    for m in view.tom_open[:markdown.TOP_TOM]:         # the summary lists the first TOP_TOM
        row = next(line for line in lines if line.startswith(f"| {markdown.md(m.id, 32)} |"))
        words.setdefault(m.status, set()).add(row.strip("|").split("|")[3].strip())
    return words


def terminal_words(text: str, doc: dict) -> dict[str, set[str]]:
    """The totals line, the TOM counts line and the open-measures table's status column."""
    view = build_view(doc)
    words: dict[str, set[str]] = {}
    total = next(line for line in text.splitlines() if line.startswith(f"{TERMINAL_DE['total']}: "))
    for (st, n), (shown_n, word) in zip(view.totals.items(),
                                        re.findall(r"(\d+) ([^,\d]+)", total.split(": ", 1)[1])):
        assert int(shown_n) == n
        words.setdefault(st, set()).add(word.strip())
    tom = next(line for line in text.splitlines() if line.startswith(f"{TERMINAL_DE['TOM measures']}: "))
    for (st, n), (shown_n, word) in zip(view.tom_counts.items(), re.findall(r"(\d+) ([^,\d]+)", tom.split(": ", 1)[1])):
        assert int(shown_n) == n
        words.setdefault(st, set()).add(word.strip())
    for m in view.tom_open:
        row = next(line for line in text.splitlines() if re.match(rf"│ {re.escape(m.id)} +│", line))
        words.setdefault(m.status, set()).add(row.strip("│").split("│")[2].strip())
    return words


def audit_words(page: str) -> dict[str, set[str]]:
    """The annual report's outcome words: the trend chart's legend and the weekly strips' titles,
    as the roll-up statuses they stand for."""
    by_color = {c: o for o, c in COLORS.items() if o}
    words: dict[str, set[str]] = {}
    for color, word in re.findall(r'height="10" fill="(#[0-9a-f]+)"/><text[^>]*>([^<]+)</text>', page):
        if color in by_color:
            words.setdefault(OUTCOME_IS[by_color[color]], set()).add(htmlmod.unescape(word))
    for color, word in re.findall(r'height="12" fill="(#[0-9a-f]+)"><title>\d{4}-\d\d-\d\d: ([^<]+)</title>', page):
        if color in by_color:
            words.setdefault(OUTCOME_IS[by_color[color]], set()).add(htmlmod.unescape(word).strip())
    return words


@pytest.mark.lab
def test_every_status_has_one_german_word_in_every_format(german):
    doc = german["doc"]
    found = {
        "html": html_words(german["html"]),
        "md": markdown_words(german["md"], doc),
        "terminal": terminal_words(german["terminal"], doc),
        "audit": audit_words(german["audit"]),
    }
    # the lab has every verdict: each format shows the ones it reports
    assert {"pass", "fail", "error", "not_applicable", "met", "not_met", "not_verified",
            "organisational"} <= set(found["html"])
    assert {"pass", "fail", "error", "not_applicable", "skipped", "not_met", "not_verified"} <= set(found["md"])
    assert {"pass", "fail", "error", "not_applicable", "skipped", "not_met", "not_verified"} <= set(found["terminal"])
    assert {"met", "not_met", "not_verified"} <= set(found["audit"])
    words_per_status: dict[str, set[str]] = {}
    for fmt, words in found.items():
        for status, ws in words.items():
            assert ws == {expected(status)}, (fmt, status, ws)
            words_per_status.setdefault(status, set()).update(ws)
    assert all(len(ws) == 1 for ws in words_per_status.values()), words_per_status
    assert expected("fail") == "nicht bestanden" and expected("not_met") == "nicht erfüllt"
    assert expected("not_verified") == "nicht nachgewiesen" and expected("met") == "erfüllt"
    assert expected("error") == "Fehler" and expected("pass") == "bestanden"


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.lab
def test_no_other_german_word_for_a_status(german):
    texts = {"html": _text(german["html"]), "md": german["md"], "terminal": german["terminal"],
             "audit": _text(german["audit"]), "csv": german["csv"].decode("utf-8-sig")}
    # the control library's own texts (titles, rationale …) and the hosts' messages are English data
    view = build_view(german["doc"])
    data = sorted({s for s in _strings(german["doc"]["controls"]) + [r.get("message") or "" for r in
                                                                      german["doc"]["results"]]
                   + [view.message(r, "de") for r in german["doc"]["results"]] if len(s) > 3},
                  key=len, reverse=True)
    for fmt, text in texts.items():
        for status, others in OTHER_WORDS.items():
            for other in others:
                assert other not in text, (fmt, status, other)
        for s in data:
            text = text.replace(s, "")
        m = HOST_WORD.search(text)
        assert m is None, (fmt, text[max(m.start() - 80, 0):m.end() + 40])


@pytest.mark.lab
def test_csv_english_keeps_codes_german_speaks_german(german):
    en = list(csv.DictReader(io.StringIO(german["csv_en"].decode("utf-8-sig"), newline="")))
    assert tuple(en[0]) == csv_format.COLUMNS
    assert {row["status"] for row in en} <= set(STATUSES)
    assert {row["status"] for row in en} >= {"pass", "fail", "error", "not_applicable"}
    assert german["csv"] != german["csv_en"]
    de = list(csv.DictReader(io.StringIO(german["csv"].decode("utf-8-sig"), newline=""), delimiter=";"))
    assert tuple(de[0]) == csv_format.COLUMNS_DE and len(de) == len(en)
    assert {row["Status"] for row in de} == {expected(row["status"]) for row in en}
    assert {row["Schweregrad"] for row in de} == {i18n.word(i18n.SEVERITY, row["severity"], "de") for row in en}
    controls = {c["id"]: c for c in german["doc"]["controls"]}
    for d, e in zip(de, en):
        assert (d["Server"], d["Kontrolle"]) == (e["host"], e["control"])
        assert d["Titel"] == controls[e["control"]]["de"]["title"] != e["title"]
        assert d["Vorgefunden"] == e["actual"]          # facts from the host: never translated
        assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d UTC", d["Erhoben (UTC)"]) or not e["collected_at"]
        if e["status"] == "pass":
            assert d["Befund"] == "alle Erwartungen erfüllt" and e["message"] == "all expectations hold"
        if e["status"] == "fail":
            assert "(erwartet: " in d["Befund"] and "(expected: " in e["message"]
            assert "expected" not in d["Befund"] and d["Erwartung"] != e["expected"]


@pytest.mark.lab
def test_markdown_differs_by_language_with_german_titles_and_dates(german):
    md_de, md_en = german["md"], german["md_en"]
    assert md_de != md_en
    for key in ("totals", "by_severity", "top_failing"):
        assert f"### {LABELS['de'][key]}" in md_de or f"#### {LABELS['de'][key]}" in md_de
        assert LABELS["de"][key] not in md_en
    controls = {c["id"]: c for c in german["doc"]["controls"]}
    view = build_view(german["doc"])
    for g in view.failure_groups[:5]:
        assert f"| {markdown.md(controls[g.control]['de']['title'], 100)} |" in md_de
        assert controls[g.control]["de"]["title"] not in md_en
    day = german["doc"]["run"]["started_at"][:10]
    assert i18n.date(day, "de") in md_de and day not in md_de and day in md_en


@pytest.mark.lab
def test_german_run_report_shows_german_control_text_and_finding_sentences(german):
    page = _text(german["html"])
    doc = german["doc"]
    for c in doc["controls"]:
        assert " ".join(c["de"]["title"].split()) in " ".join(page.split()), c["id"]
    assert "alle Erwartungen erfüllt" in page and "(erwartet: " in page
    for english in ("all expectations hold", "(expected: ", "does not apply:", "could not check:"):
        assert english not in page, english
    # every failure's German sentence is in the page (the HTML escapes and may wrap it)
    view = build_view(doc)
    flat = " ".join(page.split())
    for f in view.failures[:20]:
        r = doc["results"][f.index]
        if r.get("checks"):
            assert " ".join(view.message(r, "de").split()) in flat, r["control"]


def test_the_prose_of_every_format_uses_the_vocabulary():
    """Every German string of every format (HTML, annual report, Markdown, terminal) is free of the
    old words for a verdict and of "Host"."""
    strings = [v["de"] for v in T.values()] + list(LABELS["de"].values()) + list(TERMINAL_DE.values())
    for v in A.values():
        de = v.get("de") if isinstance(v, dict) and "de" in v else None
        if de is None and isinstance(v, dict):
            strings += [x["de"] for x in v.values()]
        elif de is not None:
            strings += de if isinstance(de, (list, tuple)) else [de]
    for table in (i18n.STATUS, i18n.STATUS_DEF, i18n.ROLLUP, i18n.ROLLUP_DEF, i18n.OUTCOME, i18n.REASON):
        strings += [v["de"] for v in table.values()]
    for s in strings:
        s = " ".join(s) if isinstance(s, list) else s
        for others in OTHER_WORDS.values():
            for other in others:
                assert other not in s, (other, s)
        assert not HOST_WORD.search(s), s
