"""Host output printed to the operator's terminal is inert."""

import io

from rich.console import Console

from hardencheck.report.terminal import safe


def render(text):
    buf = io.StringIO()
    Console(file=buf, force_terminal=True, width=200, highlight=False).print(safe(text))
    return buf.getvalue()


def test_escape_sequences_and_markup_are_made_visible():
    hostile = "\x1b]0;owned\x07\x1b[2J[bold red]fake[/] \u202eevil"
    out = render(hostile)
    assert "\x1b]0" not in out and "\x1b[2J" not in out and "\u202e" not in out
    assert "\\x1b" in out and "[bold red]fake[/]" in out


def test_ci_log_commands_cannot_start_a_line():
    assert not render("::set-env name=PATH::/tmp").startswith("::")


def test_long_output_is_bounded():
    assert len(safe("x" * 100000)) <= 300
