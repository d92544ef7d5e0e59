"""Every control speaks German: a complete ``de:`` block, required by ``controls lint``."""

import re
import textwrap

import pytest

from hardencheck.cli import main
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.controls import TRANSLATED_FIELDS, load_controls, translation_errors
from tests.judge.test_controls_lint import GOOD

DE = """\
de:
  title: Eine gültige Testkontrolle
  description: Eine Kontrolle für die Lint-Tests.
  rationale: Damit die Prüfung etwas zu prüfen hat.
  remediation: Hier gibt es nichts zu beheben.
"""
GOOD_EN = GOOD.replace("remediation: Nothing to remediate here.\n",
                       "rationale: So that the linter has something to check.\nremediation: Nothing to remediate here.\n")


def test_every_shipped_control_has_a_complete_german_block():
    cs = load_controls()
    assert len(cs.controls) >= 63
    for lc in cs.controls:
        c = lc.control
        assert c.de is not None, lc.file
        for f in TRANSLATED_FIELDS:
            de, en = getattr(c.de, f), getattr(c, f)
            assert de.strip() and " ".join(de.split()) != " ".join(en.split()), (c.id, f)
            # the same commands, paths and options: every `code` span of the English text is in the German one
            if f == "remediation":
                # (placeholders such as USER or FILE may be translated: BENUTZER, DATEI)
                spans = [{re.sub(r"\b[A-ZÄÖÜ]{3,}\b", "X", " ".join(x.split())) for x in re.findall(r"`([^`]+)`", t)}
                         for t in (en, de)]
                assert spans[0] <= spans[1], (c.id, spans[0] - spans[1])
        assert not translation_errors(lc)
        assert c.text("title", "de") == c.de.title and c.text("title", "en") == c.title


def _lint(tmp_path, text, capsys):
    (tmp_path / "TST-001.yml").write_text(textwrap.dedent(text))
    rc = main(["controls", "lint", str(tmp_path)])
    return rc, capsys.readouterr()


def test_lint_passes_a_control_with_german_text(tmp_path, capsys):
    rc, out = _lint(tmp_path, GOOD_EN + DE, capsys)
    assert rc == 0, out


def test_lint_fails_a_control_without_german_text_naming_file_line_field(tmp_path, capsys):
    rc, out = _lint(tmp_path, GOOD_EN, capsys)
    assert rc == 3
    assert f"{tmp_path / 'TST-001.yml'}:1 [de]" in out.err and "no German text" in out.err
    # loading for a scan still works: the German reports then print the English text
    assert load_controls(tmp_path).controls[0].control.de is None


@pytest.mark.parametrize("field", TRANSLATED_FIELDS)
def test_lint_fails_an_incomplete_german_block_naming_the_field(tmp_path, capsys, field):
    text = GOOD_EN + "\n".join(line for line in DE.splitlines() if not line.startswith(f"  {field}:")) + "\n"
    rc, out = _lint(tmp_path, text, capsys)
    assert rc == 3 and f"[de.{field}]" in out.err and "Field required" in out.err
    de_line = text.splitlines().index("de:") + 1
    assert f"TST-001.yml:{de_line} [de.{field}]" in out.err


def test_lint_fails_german_text_copied_from_english_and_unknown_keys(tmp_path, capsys):
    rc, out = _lint(tmp_path, GOOD_EN + DE.replace("Eine gültige Testkontrolle", "A valid test control"), capsys)
    assert rc == 3 and "[de.title]" in out.err and "word for word" in out.err
    line = (GOOD_EN + DE).splitlines().index("  title: Eine gültige Testkontrolle") + 1
    assert f"TST-001.yml:{line} [de.title]" in out.err
    rc, out = _lint(tmp_path, GOOD_EN + DE + "  expectation: Alles gut.\n", capsys)
    assert rc == 3 and "de.expectation" in out.err


def test_translation_errors_are_config_errors_with_a_location(tmp_path):
    (tmp_path / "TST-001.yml").write_text(GOOD_EN)
    (lc,) = load_controls(tmp_path).controls
    (e,) = translation_errors(lc)
    assert isinstance(e, ConfigError) and not isinstance(e, ConfigErrors)
    assert (e.file, e.line, e.field) == (str(tmp_path / "TST-001.yml"), 1, "de")


def test_controls_list_in_german(capsys):
    assert main(["controls", "list", "--lang", "de"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "SSH-001" in out and "SSH akzeptiert" in out and "SSH accepts" not in out


def test_lint_fails_german_text_with_a_word_the_reports_keep_for_no_verdict(tmp_path, capsys):
    text = GOOD_EN + DE.replace("Damit die Prüfung etwas zu prüfen hat.", "Sonst bleiben fehlgeschlagene Anmeldungen unbemerkt.")
    rc, out = _lint(tmp_path, text, capsys)
    assert rc == 3 and "[de.rationale]" in out.err and "'fehlgeschlagen'" in out.err
