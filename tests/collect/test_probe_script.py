"""The one-exec wire format: real sh runs, and hostile streams fed to the splitter."""

import subprocess

import pytest

from hardencheck.collect.probe_script import NOISE_MAX_BYTES, SectionSpec, Splitter, build_script, new_nonce


def run(specs, *, chunk=None, prefix=b"", max_bytes=64 * 1024):
    nonce = new_nonce()
    p = subprocess.run(["/bin/sh", "-s"], input=build_script(specs, nonce).encode(), capture_output=True)
    sp = Splitter(nonce, max_bytes)
    data = prefix + p.stdout
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        sp.feed_stdout(data[i:i + step])
    sp.feed_stderr(p.stderr)
    return sp, sp.sections()


def test_sections_keep_stdout_stderr_and_exit_code_apart():
    sp, s = run([SectionSpec("a/x", "echo out; echo err >&2; exit 3"), SectionSpec("b/y", "printf 'no newline'")])
    assert (s["a/x"].stdout, s["a/x"].stderr, s["a/x"].exit_code) == ("out\n", "err\n", 3)
    assert (s["b/y"].stdout, s["b/y"].exit_code, s["b/y"].complete) == ("no newline", 0, True)
    assert sp.done


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_byte_exact_whatever_the_chunking(chunk):
    sp, s = run([SectionSpec("a/x", r"printf 'one\n\ntwo\n\n'"), SectionSpec("b/y", "true")], chunk=chunk)
    assert s["a/x"].stdout == "one\n\ntwo\n\n"
    assert s["b/y"].stdout == "" and s["b/y"].exit_code == 0


def test_arguments_are_data_not_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"x'; touch {marker}; echo '$(touch {marker})`touch {marker}`\n-n"
    sp, s = run([SectionSpec("a/x", 'printf "%s|%s" "$1" "$2"', args=(evil, "--"))])
    assert s["a/x"].stdout == evil + "|--"
    assert not marker.exists()


def test_forged_markers_in_output_do_not_split_sections():
    # A log line that imitates a marker, with and without a guessed nonce, stays data.
    forged = "HC00000000000000000000000000000000 E a/x 0\nHC00000000000000000000000000000000 B b/y"
    sp, s = run([SectionSpec("a/x", f"printf '%s\\n' '{forged}'; exit 1")])
    assert s["a/x"].stdout == forged + "\n"
    assert s["a/x"].exit_code == 1 and list(s) == ["a/x"]


def test_login_noise_before_the_script_is_kept_apart():
    sp, s = run([SectionSpec("a/x", "echo fact")], prefix=b"Welcome! (printed by .bashrc)\n")
    assert s["a/x"].stdout == "fact\n"
    assert "Welcome!" in sp.noise()


def test_huge_output_is_bounded_and_marked():
    sp, s = run([SectionSpec("a/x", "head -c 3000000 /dev/zero | tr '\\0' y"), SectionSpec("b/y", "echo after")],
                chunk=65536, max_bytes=1000)
    a = s["a/x"]
    assert a.truncated and a.stdout_bytes == 3000000 and len(a.stdout) == 1000
    assert s["b/y"].stdout == "after\n" and s["b/y"].exit_code == 0


def test_binary_output_decodes_with_replacement():
    sp, s = run([SectionSpec("a/x", r"printf '\377\376\000bin\n'")])
    assert s["a/x"].stdout == "\ufffd\ufffd\x00bin\n"


def test_output_cut_off_mid_section_is_incomplete():
    nonce = new_nonce()
    sp = Splitter(nonce)
    sp.feed_stdout(f"{nonce} B a/x\npartial output".encode())
    s = sp.sections()
    assert s["a/x"].complete is False and s["a/x"].exit_code is None
    assert s["a/x"].stdout == "partial output"
    assert not sp.done


def test_noise_is_bounded():
    nonce = new_nonce()
    sp = Splitter(nonce)
    sp.feed_stdout(b"x" * (NOISE_MAX_BYTES * 10) + b"\n")
    assert len(sp.noise()) == NOISE_MAX_BYTES


def test_timeout_on_the_host_is_reported():
    sp, s = run([SectionSpec("a/x", "sleep 5", timeout=1), SectionSpec("b/y", "echo next")])
    assert s["a/x"].exit_code == 124
    assert s["b/y"].stdout == "next\n"


def test_stdin_of_sections_is_not_the_script():
    # A command that reads stdin must not eat the rest of the script.
    sp, s = run([SectionSpec("a/x", "cat; echo read-done"), SectionSpec("b/y", "echo still-here")])
    assert s["a/x"].stdout == "read-done\n"
    assert s["b/y"].stdout == "still-here\n" and sp.done


def test_bad_section_ids_and_nonces_are_refused():
    with pytest.raises(ValueError):
        SectionSpec("a x; rm", "true")
    with pytest.raises(ValueError):
        build_script([SectionSpec("a/x", "true")], "predictable")
    with pytest.raises(ValueError):
        build_script([SectionSpec("a/x", "true"), SectionSpec("a/x", "true")], new_nonce())


def test_per_section_limits_override_the_default():
    nonce = new_nonce()
    specs = [SectionSpec("a/x", "head -c 5000 /dev/zero | tr '\\000' x"),
             SectionSpec("b/y", "head -c 5000 /dev/zero | tr '\\000' x")]
    p = subprocess.run(["/bin/sh", "-s"], input=build_script(specs, nonce).encode(), capture_output=True)
    sp = Splitter(nonce, 1000, limits={"b/y": 10000})
    sp.feed_stdout(p.stdout)
    s = sp.sections()
    assert s["a/x"].truncated and len(s["a/x"].stdout) == 1000
    assert not s["b/y"].truncated and len(s["b/y"].stdout) == 5000



def test_a_hostile_stream_splits_the_same_in_any_chunks():
    """The splitter hands the bytes between marker lines to a section in pieces; whatever pieces
    the stream arrives in (one byte at a time included), the sections are the same and are what
    the markers say: lines that only look like markers, a marker-like line too long to be one, a
    partial nonce at the end of a chunk, a section run again."""
    nonce = new_nonce()
    n = nonce
    long_line = f"{n} E a/x 0 " + "z" * 3000
    a_out = (f"first line\n{n}X not a marker\n{n} E b/y 0\n{n} B\n{n} T\n{long_line}\n"
             f"{n[:10]}\n\n{n}\nlast, no newline")
    stream = (f"motd: hello\n{n[:5]}\n{n} B a/x\n{n} T sh missing\n{a_out}\n{n} E a/x 3\n"
              f"{n} B b/y\nfirst run, cut\n{n} B b/y\nsecond\n\n{n} E b/y 5\n{n} DONE\n").encode()

    def split(chunk):
        sp = Splitter(nonce)
        for i in range(0, len(stream), chunk):
            sp.feed_stdout(stream[i:i + chunk])
        return sp, sp.sections()

    sp, whole = split(len(stream))
    assert sp.done and list(whole) == ["a/x", "b/y"]
    assert (whole["a/x"].stdout, whole["a/x"].exit_code, whole["a/x"].complete) == (a_out, 3, True)
    assert whole["a/x"].tools == [{"tool": "sh", "status": "missing"}]
    assert (whole["b/y"].stdout, whole["b/y"].exit_code) == ("second\n", 5)
    assert sp.noise() == f"motd: hello\n{n[:5]}\n"
    for chunk in (1, 2, 3, 7, 33, 34, 35, 64, 1000, 2049):
        other, pieces = split(chunk)
        assert {k: vars(v) | {"started_at": 0, "ended_at": 0} for k, v in pieces.items()} == \
            {k: vars(v) | {"started_at": 0, "ended_at": 0} for k, v in whole.items()}, chunk
        assert other.noise() == sp.noise() and other.done


# -- tool resolution: which binary answers, and refusing one that is not trustworthy -------------

import os  # noqa: E402
import shutil  # noqa: E402

from hardencheck.collect.probe_script import (BASE_TOOLS, PRELUDE, REFUSED_RC, SYSTEM_DIRS,  # noqa: E402
                                              tool_line, tool_problem, tool_record)
from hardencheck.collect.probes.base import untrusted_tools  # noqa: E402


def test_path_searches_the_system_directories_first():
    path = next(l for l in PRELUDE.splitlines() if l.startswith("PATH="))
    dirs = path.split("=", 1)[1].split(";")[0].split(":")
    assert dirs[:4] == list(SYSTEM_DIRS)
    assert dirs[4:] == ["/usr/local/sbin", "/usr/local/bin"]


def test_a_system_tool_is_resolved_and_recorded_before_its_section_runs():
    sp, s = run([SectionSpec("a/x", "command -v sshd; command -v nosuchtool-hc || echo none",
                             tools=("sh", "nosuchtool-hc"))])
    sh, missing = s["a/x"].tools
    assert sh["status"] == "ok" and sh["path"] in ("/usr/bin/sh", "/bin/sh") and sh["system_dir"] is True
    assert sh["real_path"] == os.path.realpath(sh["path"]) and sh["uid"] == 0
    assert missing == {"tool": "nosuchtool-hc", "status": "missing"}
    assert s["a/x"].exit_code == 0 and s["a/x"].stdout.endswith("none\n")   # the markers are not data
    assert untrusted_tools(s.values()) is None


def test_a_tool_in_a_directory_others_may_write_is_refused(tmp_path):
    """tmp_path lies under /tmp (mode 1777): whoever can write there could swap the binary."""
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho ran > " + str(tmp_path / "ran") + "\n")
    tool.chmod(0o755)
    sp, s = run([SectionSpec("a/x", "echo should-not-run", tools=(str(tool),)), SectionSpec("b/y", "echo fine")])
    (rec,) = s["a/x"].tools
    assert rec["status"] == "untrusted" and rec["path"] == str(tool)
    assert rec["offending"]["path"] in [str(p) for p in tool.parents]
    assert s["a/x"].exit_code == REFUSED_RC and s["a/x"].stdout == "" and "not run" in s["a/x"].stderr
    assert s["b/y"].stdout == "fine\n" and sp.done            # the other sections still run
    err = untrusted_tools([s["a/x"]])
    assert err.reason == "untrusted_binary" and str(tool) in err.message and "not run" in err.message


def test_a_tool_is_resolved_once_and_every_section_that_relies_on_it_carries_its_record(tmp_path):
    """The script resolves every tool once, before the first section; each section that relies on
    a tool repeats its record (and the same refusal) without resolving it again."""
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho ran\n")
    tool.chmod(0o755)
    specs = [SectionSpec(f"s{i}/x", "echo hi", tools=("sh", str(tool)) if i % 2 else ("sh",)) for i in range(4)]
    nonce = new_nonce()
    script = build_script(specs, nonce)
    assert script.count("=" + str(tool)) == 1 and script.count("hc_m") >= 2   # one entry in the tool table
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "/bin/sh", "-s"], input=script.encode(),
                       capture_output=True)
    sp, s = run(specs)
    assert [r["tool"] for r in s["s0/x"].tools] == ["sh"] and s["s0/x"].stdout == "hi\n"
    assert s["s1/x"].tools == s["s3/x"].tools and s["s1/x"].tools[1]["status"] == "untrusted"
    assert s["s1/x"].exit_code == s["s3/x"].exit_code == REFUSED_RC
    assert s["s0/x"].tools[0] == s["s2/x"].tools[0] == s["s1/x"].tools[0]
    # all tools are resolved together before the first section: one stat for every file and
    # directory involved, readlink only for a path through a symlink (sh -> dash), never per section
    trace = p.stderr.decode().splitlines()
    stats = [ln for ln in trace if 'execve("/usr/bin/stat"' in ln or 'execve("/bin/stat"' in ln]
    readlinks = [ln for ln in trace if 'execve("/usr/bin/readlink"' in ln or 'execve("/bin/readlink"' in ln]
    assert len(stats) == 1 and 0 < len(readlinks) <= len(BASE_TOOLS) + 2, (len(stats), len(readlinks))


def test_tool_records_round_trip_and_are_judged_again_here():
    ok = tool_record("sshd ok /usr/sbin/sshd /usr/sbin/sshd 0 0 755 - - -".split())
    assert ok == {"tool": "sshd", "status": "ok", "path": "/usr/sbin/sshd", "real_path": "/usr/sbin/sshd",
                  "uid": 0, "gid": 0, "mode": "755", "system_dir": True}
    assert tool_problem(ok) is None
    bad = tool_record("nft untrusted /usr/local/sbin/nft /usr/local/sbin/nft 1000 1000 755 "
                      "/usr/local/sbin/nft 1000 755".split())
    assert bad["system_dir"] is False and bad["offending"] == {"path": "/usr/local/sbin/nft", "uid": 1000,
                                                               "mode": "755"}
    assert "not owned by root" in tool_problem(bad)
    for rec in (ok, bad, {"tool": "x", "status": "missing"}, {"tool": "x", "status": "oddpath"},
                tool_record("x unchecked /usr/bin/x /usr/bin/x".split())):
        assert tool_record(tool_line(rec).split(" ")) == rec
    # the host's shell said "ok" but the facts say otherwise: not trusted
    assert tool_problem({**ok, "mode": "777"}) and tool_problem({**ok, "uid": 5})
    # anything unreadable is a problem, never a silent pass
    assert tool_record(["sshd", "ok", "/usr/sbin/sshd"])["status"] == "malformed"
    assert tool_problem(tool_record(["sshd", "ok", "/usr/sbin/sshd"]))
    assert tool_problem(tool_record("x oddpath".split())) and tool_problem(tool_record(["x", "whatever"]))


def test_a_forged_tool_marker_in_output_is_data():
    sp, s = run([SectionSpec("a/x", "echo 'HC00000000000000000000000000000000 T sshd ok /x /x 0 0 755 - - -'")])
    assert s["a/x"].tools == [] and "T sshd" in s["a/x"].stdout


def test_spec_tool_names_are_checked():
    for bad in ("a b", "$(x)", "-x", "", "../x"):
        with pytest.raises(ValueError):
            SectionSpec("a/x", ":", tools=(bad,))


def _in_private_usr(setup: str, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` with /bin/sh in a private mount namespace after ``setup`` (mounts that only
    that namespace sees: this machine's /usr is never written)."""
    return subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                           setup + '\nexec /bin/sh -s'], input=script.encode(), capture_output=True, timeout=60)


needs_root_ns = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                   reason="needs root and unshare for a private mount namespace")


@needs_root_ns
def test_usr_local_cannot_stand_in_for_a_system_tool_and_an_untrusted_one_is_not_run():
    """A private /usr/local (tmpfs) with a fake sshd, a world-writable and a non-root tool, and an
    admin-installed tool that exists only there."""
    setup = (
        "set -e; mount -t tmpfs -o mode=0755 tmpfs /usr/local; mkdir -p /usr/local/sbin /usr/local/bin\n"
        "printf '#!/bin/sh\\necho passwordauthentication no\\n' > /usr/local/sbin/sshd\n"
        "printf '#!/bin/sh\\necho owned > /tmp/hc-ran\\n' > /usr/local/bin/hc-writable\n"
        "printf '#!/bin/sh\\necho owned\\n' > /usr/local/bin/hc-notroot\n"
        "printf '#!/bin/sh\\necho admin-tool\\n' > /usr/local/bin/hc-admin\n"
        "chmod 755 /usr/local/sbin/sshd /usr/local/bin/hc-notroot /usr/local/bin/hc-admin\n"
        "chmod 777 /usr/local/bin/hc-writable; chown 1000:1000 /usr/local/bin/hc-notroot\n"
        "mount -t tmpfs tmpfs /tmp\n"
    )
    nonce = new_nonce()
    specs = [SectionSpec("s/sshd", "command -v sshd", tools=("sshd",)),
             SectionSpec("s/writable", "hc-writable", tools=("hc-writable",)),
             SectionSpec("s/notroot", "hc-notroot", tools=("hc-notroot",)),
             SectionSpec("s/admin", "hc-admin", tools=("hc-admin",)),
             SectionSpec("s/ran", "cat /tmp/hc-ran 2>/dev/null || echo nothing-ran")]
    p = _in_private_usr(setup, build_script(specs, nonce))
    sp = Splitter(nonce)
    sp.feed_stdout(p.stdout)
    sp.feed_stderr(p.stderr)
    s = sp.sections()
    assert sp.done, p.stderr[-500:]
    assert s["s/sshd"].stdout.strip() == "/usr/sbin/sshd"
    assert s["s/sshd"].tools[0]["path"] == "/usr/sbin/sshd" and s["s/sshd"].tools[0]["system_dir"]
    for sid, why in (("s/writable", "writable by group or others"), ("s/notroot", "not owned by root")):
        (rec,) = s[sid].tools
        assert rec["status"] == "untrusted" and rec["path"].startswith("/usr/local/bin/"), rec
        assert s[sid].exit_code == REFUSED_RC and s[sid].stdout == ""
        assert why in untrusted_tools([s[sid]]).message
    assert s["s/ran"].stdout.strip() == "nothing-ran"      # neither untrusted binary was executed
    # an admin-installed tool only in /usr/local: used, and flagged as outside the system dirs
    (admin,) = s["s/admin"].tools
    assert admin["status"] == "ok" and admin["system_dir"] is False and s["s/admin"].stdout == "admin-tool\n"


@needs_root_ns
def test_an_untrusted_base_tool_stops_every_section():
    """``wc`` (a base tool every snippet may use) replaced, in this namespace only, by a
    world-writable file: no section runs, each one names it."""
    setup = ("set -e; cp /usr/bin/wc /tmp/hc-wc-$$; chmod 777 /tmp/hc-wc-$$; "
             "mount --bind /tmp/hc-wc-$$ \"$(readlink -f /usr/bin/wc)\"; rm -f /tmp/hc-wc-$$\n")
    nonce = new_nonce()
    p = _in_private_usr(setup, build_script([SectionSpec("a/x", "echo ran"), SectionSpec("b/y", "echo ran")], nonce))
    sp = Splitter(nonce)
    sp.feed_stdout(p.stdout)
    sp.feed_stderr(p.stderr)
    s = sp.sections()
    assert "wc" in BASE_TOOLS and sp.done
    assert not os.stat("/usr/bin/wc").st_mode & 0o022     # the machine's own wc was never touched
    for sid in ("a/x", "b/y"):
        assert s[sid].stdout == "" and s[sid].exit_code == REFUSED_RC
        assert [r["tool"] for r in s[sid].tools] == ["wc"] and s[sid].tools[0]["status"] == "untrusted"
        assert untrusted_tools([s[sid]]).reason == "untrusted_binary"


def test_hosts_that_need_the_same_sections_get_the_script_built_once_with_their_own_nonce():
    from hardencheck.collect import probe_script

    zeros = "HC" + "0" * 32      # the nonce the remembered script is built with
    specs = [SectionSpec("a/x", f"echo {zeros}", args=(zeros, "x")), SectionSpec("b/y", "cat /etc/hostname", timeout=90)]
    probe_script._shapes.clear()
    one, two = new_nonce(), new_nonce()
    first, second = build_script(specs, one), build_script(specs, two)
    assert len(probe_script._shapes) == 1
    for nonce, script in ((one, first), (two, second)):
        prelude, steps = probe_script.script_parts(specs, nonce)
        assert script == "\n".join([prelude, *(t for _, t in steps), probe_script.FINALE]) + "\n"
        assert script.count(nonce) == 1 and script.count(zeros) == 2      # the code's and argument's stay
    sp, s = run(specs)
    assert s["a/x"].stdout == zeros + "\n" and s["a/x"].exit_code == 0
    with pytest.raises(ValueError):
        build_script(specs, zeros.replace("0", "x"))


def test_the_remembered_scripts_are_bounded():
    from hardencheck.collect import probe_script

    probe_script._shapes.clear()
    for i in range(probe_script.SHAPES_KEPT + 5):
        build_script([SectionSpec(f"a/x{i}", "true")], new_nonce())
    assert 0 < len(probe_script._shapes) <= probe_script.SHAPES_KEPT
