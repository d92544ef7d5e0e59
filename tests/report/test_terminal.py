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


def test_progress_prints_finished_hosts_and_shows_hosts_in_flight():
    from hardencheck.report.terminal import Progress
    from hardencheck.results import HostOutcome, HostRecord, Result

    def outcome(name, status="ok", error=None):
        rec = HostRecord(name=name, identity={}, status=status, error=error)
        res = [Result(host=name, control="A-001", status="pass" if status == "ok" else "error",
                      severity="low", expected="", actual=None, message="")]
        return HostOutcome(rec, res, {})

    for terminal in (True, False):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=terminal, width=120, highlight=False)
        with Progress(console, 2) as p:
            p.event("web1", "connecting", None)
            p.event("db\x1b[2J1", "collecting", None)
            if terminal:
                assert "web1 (connecting)" in p._status_line().plain
                assert "\x1b[2J" not in p._status_line().plain
            p.event("web1", "done", outcome("web1"))
            p.event("db\x1b[2J1", "done", outcome("db\x1b[2J1", "error", {"reason": "timeout", "message": "m"}))
        out = buf.getvalue()
        assert "[1/2]" in out and "web1" in out and "1 pass" in out
        assert "timeout" in out and "\x1b[2J" not in out
