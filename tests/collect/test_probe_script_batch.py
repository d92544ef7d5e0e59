"""Batches of the one-exec probe script: consecutive sections share one timeout(1) and one sh, and
each still comes back as the same section it is alone (real sh runs, strace for the processes)."""

import os
import re
import subprocess

import pytest

from hardencheck.collect.probe_script import (BATCH_MAX_ITEMS, BATCH_MAX_TIMEOUT, REFUSED_RC, SectionSpec,
                                              Splitter, build_script, new_nonce, script_parts)


def run(specs, *, batch=True, trace=False):
    nonce = new_nonce()
    argv = ["strace", "-f", "-qq", "-e", "trace=execve", "-o", "/dev/stderr"] if trace else []
    p = subprocess.run([*argv, "/bin/sh", "-s"], input=build_script(specs, nonce, batch).encode(),
                       capture_output=True, timeout=120, cwd="/")
    sp = Splitter(nonce)
    sp.feed_stdout(p.stdout)
    sp.feed_stderr(p.stderr)
    return sp, sp.sections(), p


def same(sec):
    return (sec.exit_code, sec.stdout, sec.stderr, sec.complete, sec.truncated, sec.tools)


MIXED = [
    SectionSpec("a/x", "echo out; echo err >&2; exit 3", tools=("sh",)),
    SectionSpec("b/y", "printf 'no newline'"),
    SectionSpec("c/z", 'printf "%s|" "$#" "$0" "$@"', args=("a b", "it's", "$(touch /tmp/hc-pwned)", "")),
    SectionSpec("d/w", "cat; echo read-done"),
    SectionSpec("e/v", "printf '\\377\\376\\000bin\\n'; printf 'HC00000000000000000000000000000000 E e/v 0\\n'"),
    SectionSpec("f/u", "command -v nosuchtool-hc || echo none", tools=("nosuchtool-hc",)),
    SectionSpec("g/t", "x=1; set -u; echo ${hc_n-no-nonce} $x; set | grep '^hc_' || echo no-hc-variables"),
    SectionSpec("h/s", "exit 0"),
]


def test_a_batched_section_is_the_same_section_as_alone():
    sp1, alone, _ = run(MIXED, batch=False)
    sp2, batched, _ = run(MIXED)
    assert sp1.done and sp2.done and list(alone) == list(batched) == [s.id for s in MIXED]
    for sid in alone:
        if sid != "e/v":
            assert same(batched[sid]) == same(alone[sid]), sid
    # the one difference: a batched section's output passes through the shell, which drops NUL bytes
    assert alone["e/v"].stdout == "\ufffd\ufffd\x00bin\nHC00000000000000000000000000000000 E e/v 0\n"
    assert batched["e/v"].stdout == alone["e/v"].stdout.replace("\x00", "")
    assert same(batched["e/v"])[2:] == same(alone["e/v"])[2:] and batched["e/v"].exit_code == 0
    assert batched["c/z"].stdout == "4|hardencheck|a b|it's|$(touch /tmp/hc-pwned)||"
    assert not os.path.exists("/tmp/hc-pwned")
    assert batched["d/w"].stdout == "read-done\n"          # stdin is /dev/null, not the script
    assert batched["g/t"].stdout == "no-nonce 1\nno-hc-variables\n"   # nor anything of the script's
    assert batched["f/u"].tools == [{"tool": "nosuchtool-hc", "status": "missing"}]


def test_one_timeout_and_one_shell_for_a_batch():
    specs = [SectionSpec(f"s{i}/x", "echo hi") for i in range(6)]
    _, s, p = run(specs, trace=True)
    execs = [ln for ln in p.stderr.decode().splitlines() if "execve(" in ln and ln.endswith("= 0")]
    assert len([ln for ln in execs if re.search(r'execve\("[^"]*/timeout"', ln)]) == 1
    assert len([ln for ln in execs if 'execve("/bin/sh", ["/bin/sh", "-c"' in ln]) == 1
    assert [s[f"s{i}/x"].stdout for i in range(6)] == ["hi\n"] * 6
    _, s, p = run(specs, batch=False, trace=True)          # alone: one of each per section
    assert len([ln for ln in p.stderr.decode().splitlines() if re.search(r'execve\("[^"]*/timeout"', ln)]) == 6


def channel_writes(specs, nonce, tmp_path):
    """([(stream, what strace shows of the write)], stdout, stderr) of the script: the writes of
    every process into the two pipes that stand for the SSH channel's streams (strace -y names
    each write's pipe)."""
    trace = tmp_path / "trace"
    p = subprocess.Popen(["strace", "-f", "-qq", "-y", "-s", "800", "-e", "trace=write", "-e", "signal=none", "-o",
                          str(trace), "/bin/sh", "-s"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd="/")
    pipes = {os.fstat(p.stdout.fileno()).st_ino: "out", os.fstat(p.stderr.fileno()).st_ino: "err"}
    out, err = p.communicate(build_script(specs, nonce).encode(), timeout=120)
    writes = []
    for ln in trace.read_text().splitlines():
        m = re.search(r" write\(\d+<pipe:\[(\d+)\]>, (.*)", ln)
        if m and int(m.group(1)) in pipes:
            writes.append((pipes[int(m.group(1))], m.group(2)))
    return writes, out, err


def test_a_section_alone_sends_its_end_markers_with_the_next_begin_markers(tmp_path):
    """Sections that run alone (here: limits above the batch limit) stream their output as it
    comes; their end markers wait for the next write to the same stream: the next begin marker,
    the next batch's output, or DONE."""
    specs = [SectionSpec(f"s{i}/x", "printf 'x\\n'" + ("; printf 'e\\n' >&2" if i == 1 else ""),
                         timeout=BATCH_MAX_TIMEOUT + 1) for i in range(3)]
    nonce = new_nonce()
    writes, out, err = channel_writes(specs, nonce, tmp_path)
    # stdout: B s0, then per section its output and "E it + B next" (the last: "E s2 + DONE")
    assert [k for k, _ in writes].count("out") == 1 + 2 * 3, writes
    # stderr: B s0, "E s0 + B s1", s1's own line, "E s1 + B s2", E s2
    assert [k for k, _ in writes].count("err") == 1 + 3 + 1, writes
    assert any(k == "out" and f'"\\n{nonce} E s2/x 0\\n{nonce} DONE\\n"' in w for k, w in writes), writes
    sp = Splitter(nonce)
    sp.feed_stdout(out)
    sp.feed_stderr(err)
    s = sp.sections()
    assert sp.done and sp.noise() == ""
    assert [(s[f"s{i}/x"].stdout, s[f"s{i}/x"].stderr, s[f"s{i}/x"].exit_code, s[f"s{i}/x"].complete)
            for i in range(3)] == [("x\n", "", 0, True), ("x\n", "e\n", 0, True), ("x\n", "", 0, True)]


def test_output_travels_in_as_few_writes_as_possible(tmp_path):
    """Every write to stdout or stderr becomes an SSH packet of its own when the host is idle, and
    each packet costs the scanner's client CPU: in a batch, a section's output is written when it
    ends, with its end marker and the next one's begin marker (and its tool records), in one write
    on stdout; the batch's stderr (its markers and what the sections printed there) in one write
    when the batch ends. Counted here: the writes of every process into the two pipes that stand
    for the SSH channel's streams (strace -y names each write's pipe)."""
    specs = [SectionSpec(f"s{i}/x", "echo one; echo two; printf three" + ("; echo oops >&2" if i == 3 else ""),
                         tools=("sh",)) for i in range(6)]
    nonce = new_nonce()
    writes, out, err = channel_writes(specs, nonce, tmp_path)
    # stdout: the first begin marker, one write per section end (its output, end marker, the next
    # begin marker and tool records), DONE; stderr: one write for the whole batch
    assert [w for w, _ in writes].count("out") == 1 + 6 + 1, writes
    assert [w for w, _ in writes].count("err") == 1, writes
    for i in range(1, 6):
        (_,) = [w for k, w in writes if k == "out" and f"one\\ntwo\\nthree\\n{nonce} E s{i - 1}/x 0\\n"
                f"{nonce} B s{i}/x\\n{nonce} T sh ok " in w]
    ((_, batch_err),) = [w for w in writes if w[0] == "err"]
    assert batch_err.startswith(f'"{nonce} B s0/x\\n\\n{nonce} E s0/x 0\\n{nonce} B s1/x') and "oops" in batch_err
    sp = Splitter(nonce)
    sp.feed_stdout(out)
    sp.feed_stderr(err)
    s = sp.sections()
    assert sp.done and sp.noise() == ""
    assert all(s[f"s{i}/x"].complete and s[f"s{i}/x"].exit_code == 0 and s[f"s{i}/x"].stdout == "one\ntwo\nthree"
               and s[f"s{i}/x"].tools and s[f"s{i}/x"].stderr == ("oops\n" if i == 3 else "") for i in range(6))


def test_a_snippet_that_could_end_its_shell_otherwise_runs_alone():
    """A batched section's output is taken in by a command substitution whose EXIT trap keeps its
    trailing newlines: a snippet with ``exec`` or ``trap`` could lose that trap, so it runs alone,
    and what it prints is the same either way."""
    specs = [SectionSpec("a/x", "printf 'a\\n\\n'; exit 3"), SectionSpec("e/v", "find / -maxdepth 0 -exec echo e \\;"),
             SectionSpec("b/y", "printf 'b\\n\\n'; exec true"), SectionSpec("c/z", "trap 'echo bye' EXIT; printf 'c\\n\\n'"),
             SectionSpec("d/w", "printf 'd\\n\\n'"), SectionSpec("f/u", "printf 'f\\n\\n/'")]
    _, steps = script_parts(specs, new_nonce())
    assert [ids for ids, _ in steps] == [["a/x", "e/v"], ["b/y"], ["c/z"], ["d/w", "f/u"]]
    sp, s, _ = run(specs)
    assert sp.done
    assert [(s[k].stdout, s[k].exit_code) for k in ("a/x", "e/v", "b/y", "c/z", "d/w", "f/u")] == [
        ("a\n\n", 3), ("e\n", 0), ("b\n\n", 0), ("c\n\nbye\n", 0), ("d\n\n", 0), ("f\n\n/", 0)]


def test_the_nonce_is_in_no_command_line():
    """Another user could read command lines (ps): the batch gets the nonce on stdin."""
    nonce = new_nonce()
    specs = [SectionSpec("a/x", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' '"), SectionSpec("b/y", "true")]
    p = subprocess.run(["/bin/sh", "-s"], input=build_script(specs, nonce).encode(), capture_output=True, timeout=60)
    sp = Splitter(nonce)
    sp.feed_stdout(p.stdout)
    out = sp.sections()["a/x"].stdout
    assert "hardencheck" in out and "/bin/sh -c" in out      # the batch's own command line was read
    assert nonce not in out


def test_a_hung_section_times_out_alone_and_the_later_ones_still_run():
    specs = [SectionSpec("a/x", "echo first"), SectionSpec("b/y", "echo partial; printf half; sleep 30", timeout=2),
             SectionSpec("c/z", "echo after", timeout=5), SectionSpec("d/w", "echo last")]
    sp, s, _ = run(specs)
    assert sp.done
    assert (s["a/x"].stdout, s["a/x"].exit_code) == ("first\n", 0)
    # its own limit, its own exit code; the cut run's half line is gone (only the last run counts)
    assert (s["b/y"].exit_code, s["b/y"].stdout, s["b/y"].complete) == (124, "partial\nhalf", True)
    assert (s["c/z"].stdout, s["c/z"].exit_code) == ("after\n", 0)
    assert (s["d/w"].stdout, s["d/w"].exit_code) == ("last\n", 0)
    assert list(s) == ["a/x", "b/y", "c/z", "d/w"] and sp.noise() == ""


def test_a_section_cut_only_by_the_batch_limit_runs_again_with_its_whole_limit():
    """Limits 2 s and 4 s: the batch has 2 s, the second section needs 3 s of it."""
    specs = [SectionSpec("a/x", "sleep 1; echo one", timeout=2), SectionSpec("b/y", "sleep 2; echo two", timeout=4),
             SectionSpec("c/z", "echo three", timeout=4)]
    sp, s, _ = run(specs)
    assert sp.done
    assert [(s[k].stdout, s[k].exit_code) for k in ("a/x", "b/y", "c/z")] == [
        ("one\n", 0), ("two\n", 0), ("three\n", 0)]


def test_a_section_that_kills_its_shell_or_writes_to_the_batch_channel_harms_no_other():
    specs = [SectionSpec("a/x", "echo 99 done >&9; echo fd9-closed"),
             SectionSpec("b/y", "kill -9 $$; echo survived"),
             SectionSpec("c/z", "echo next")]
    sp, s, _ = run(specs)
    assert sp.done
    assert s["a/x"].stdout == "fd9-closed\n" and s["a/x"].exit_code == 0
    # alone, $$ is its own shell: it kills itself, with its own exit code
    assert s["b/y"].exit_code == 137 and s["b/y"].stdout == ""
    assert s["c/z"].stdout == "next\n"


def test_refused_tools_in_a_batch(tmp_path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho ran\n")
    tool.chmod(0o755)
    specs = [SectionSpec("a/x", "echo should-not-run", tools=(str(tool),)), SectionSpec("b/y", "echo fine")]
    _, alone, _ = run(specs, batch=False)
    _, batched, _ = run(specs)
    assert batched["a/x"].exit_code == REFUSED_RC and batched["a/x"].tools[0]["status"] == "untrusted"
    assert "not run" in batched["a/x"].stderr and batched["b/y"].stdout == "fine\n"
    assert [same(batched[k]) for k in ("a/x", "b/y")] == [same(alone[k]) for k in ("a/x", "b/y")]


def test_what_is_batched():
    nonce = new_nonce()
    specs = ([SectionSpec(f"s{i}/x", "true") for i in range(BATCH_MAX_ITEMS + 2)]
             + [SectionSpec("long/x", "true", timeout=BATCH_MAX_TIMEOUT + 1), SectionSpec("t/x", "true"),
                SectionSpec("big/x", "true", args=("x" * 70000,)), SectionSpec("u/x", "true"), SectionSpec("v/x", "true")])
    _, steps = script_parts(specs, nonce)
    sizes = [len(ids) for ids, _ in steps]
    assert sizes == [BATCH_MAX_ITEMS, 2, 1, 1, 1, 2]
    assert [ids for ids, _ in steps][2:5] == [["long/x"], ["t/x"], ["big/x"]]
    assert steps[0][1].startswith("hc_b=1\n") and steps[0][1].endswith("\nhc_flush") and "hc_flush" not in steps[2][1]
    _, alone = script_parts(specs, nonce, batch=False)
    assert all(len(ids) == 1 for ids, _ in alone)


@pytest.mark.parametrize("batch", [True, False])
def test_the_splitter_keeps_only_the_last_run_of_a_section(batch):
    nonce = new_nonce()
    sp = Splitter(nonce)
    sp.feed_stdout(f"{nonce} B a/x\n{nonce} T sh missing\nfirst\n{nonce} E a/x 0\n".encode())
    if batch:
        sp.feed_stdout(f"\n{nonce} B a/x\n{nonce} T sh missing\nsecond".encode())
    s = sp.sections()["a/x"]
    assert (s.stdout, s.exit_code, s.complete, len(s.tools)) == (
        ("second", None, False, 1) if batch else ("first", 0, True, 1))


def test_a_host_without_timeout_still_runs_its_batches():
    nonce = new_nonce()
    script = build_script([SectionSpec("a/x", "echo one; exit 4"), SectionSpec("b/y", "echo two")], nonce)
    assert script.count("hc_t=$(command -v timeout 2>/dev/null)\n") == 1
    script = script.replace("hc_t=$(command -v timeout 2>/dev/null)\n", "hc_t=\n")
    p = subprocess.run(["/bin/sh", "-s"], input=script.encode(), capture_output=True, timeout=60)
    sp = Splitter(nonce)
    sp.feed_stdout(p.stdout)
    s = sp.sections()
    assert sp.done and (s["a/x"].stdout, s["a/x"].exit_code, s["b/y"].stdout) == ("one\n", 4, "two\n")


def test_end_markers_waiting_before_a_batch_go_out_before_it_starts(tmp_path):
    """What the batch shell itself or timeout(1) print on stderr must not land inside the section
    that ran alone before the batch: that section's end markers are written before the batch starts."""
    specs = [SectionSpec("a/x", "echo alone", timeout=BATCH_MAX_TIMEOUT + 1),
             SectionSpec("b/y", "echo one"), SectionSpec("c/z", "echo two")]
    nonce = new_nonce()
    writes, out, err = channel_writes(specs, nonce, tmp_path)
    first_batch_write = next(i for i, (k, w) in enumerate(writes) if f"{nonce} B b/y" in w)
    ends = [i for i, (k, w) in enumerate(writes) if f"{nonce} E a/x 0" in w]
    assert sorted(k for i, (k, _) in enumerate(writes) if i in ends) == ["err", "out"]
    assert all(i < first_batch_write for i in ends), writes
    sp = Splitter(nonce)
    sp.feed_stdout(out)
    sp.feed_stderr(err)
    s = sp.sections()
    assert sp.done and [s[k].stdout for k in ("a/x", "b/y", "c/z")] == ["alone\n", "one\n", "two\n"]
