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
    specs = [SectionSpec("a/x", "head -c 5000 /dev/zero"), SectionSpec("b/y", "head -c 5000 /dev/zero")]
    p = subprocess.run(["/bin/sh", "-s"], input=build_script(specs, nonce).encode(), capture_output=True)
    sp = Splitter(nonce, 1000, limits={"b/y": 10000})
    sp.feed_stdout(p.stdout)
    s = sp.sections()
    assert s["a/x"].truncated and len(s["a/x"].stdout) == 1000
    assert not s["b/y"].truncated and len(s["b/y"].stdout) == 5000
