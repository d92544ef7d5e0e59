"""Nothing lost, nothing mislabelled (issue 11): real scans killed, real full disks, real login noise.

- A scan SIGKILLed between any two writes of its bundle leaves a bundle that ``verify`` calls
  incomplete (exit 2), never tampered. The moment is chosen with the bundle writer's documented
  test hook (``HARDENCHECK_TEST_KILL_AT``: the process SIGKILLs itself there); the scan, the
  bundle and ``verify`` are the real CLI, run as subprocesses.
- A full disk under ``--out`` or ``--history`` (a real tmpfs mounted for the test, filled with a
  real file) gives one line naming the path and the errno and exit code 4, never a traceback or 1,
  and loses nothing written before.
- Login-shell output of many megabytes (a real ~/.bashrc on a lab host) is kept bounded and
  marked: ``noise_truncated`` and ``noise_bytes`` in the host record, results.json and the HTML.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from hardencheck.collect.probe_script import NOISE_MAX_BYTES, Splitter, new_nonce
from hardencheck.records.bundle import KILL_AT_ENV, MANIFEST, OPENING_SUFFIX, STEP_LOG_ENV
from hardencheck.results import SCHEMA_VERSION, validate_document

HC = [sys.executable, "-m", "hardencheck"]
ENOSPC = "No space left on device (errno 28, ENOSPC)"


def hc(*args, env=None, timeout=300):
    return subprocess.run([*HC, *map(str, args)], check=False, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def signer(tmp_path):
    key = tmp_path / "signer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("ci " + " ".join((tmp_path / "signer.pub").read_text().split()[:2]) + "\n")
    return key, allowed


def the_bundle(out: Path) -> Path | None:
    """The run folder in ``out`` (None when the scan never made one visible)."""
    visible = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")] if out.exists() else []
    assert len(visible) <= 1, visible
    return visible[0] if visible else None


# -- kill at any moment ------------------------------------------------------------------------

def local_scan(tmp_path, name, key, env):
    out = tmp_path / name
    proc = hc("scan", "--out", out, "--no-history", "--control", "RAID-001,SSH-001", "--quiet", "--sign-key", key,
              "--format", "html,json", env=env)
    return proc, out


def test_a_scan_killed_between_any_two_writes_verifies_as_incomplete(tmp_path):
    key, allowed = signer(tmp_path)
    log = tmp_path / "steps.log"
    proc, out = local_scan(tmp_path, "whole", key, {STEP_LOG_ENV: str(log)})
    assert proc.returncode in (0, 1, 2), proc.stderr
    steps = log.read_text().split()
    # every write of the bundle is a step: opening, the host file, results.json (written before the
    # reports render), report.html, the seal
    assert "open.manifest:1" in steps and "files.staged:2" in steps
    assert sum(s.startswith("files.renamed:") for s in steps) == 1 + 1 + 1
    assert sum(s.startswith("manifest.done:") for s in steps) == 1 + 2 + 2 + 2 + 1
    assert hc("verify", the_bundle(out), "--allowed-signers", allowed).returncode == 0

    def kill_at(i_step):
        i, step = i_step
        proc, out = local_scan(tmp_path, f"k{i}", key, {KILL_AT_ENV: step})
        return step, proc, out

    assert steps[-1] == "manifest.done:8"    # after the seal: the bundle is complete, nothing to kill
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(kill_at, enumerate(steps[:-1])))
    opened = steps.index("open.manifest:1")
    for n, (step, proc, out) in enumerate(runs):
        assert proc.returncode == -signal.SIGKILL, (step, proc.stderr)
        bundle = the_bundle(out)
        if bundle is None:
            # killed while the folder was being created: only the hidden staging folder is left,
            # and verify --chain names it as such (not a bundle, nothing scanned)
            assert n <= opened, step
            (hidden,) = [p for p in out.iterdir() if p.name.endswith(OPENING_SUFFIX)]
            chain = hc("verify", "--chain", out)
            assert f"note {hidden.name}: a scan killed while creating its bundle" in chain.stdout, chain.stdout
            continue
        assert n > opened, step
        v = hc("verify", bundle, "--allowed-signers", allowed)
        assert v.returncode == 2, (step, v.stdout)
        assert "FAIL" not in v.stdout and "added" not in v.stdout, (step, v.stdout)
        assert "good signature by ci" in v.stdout, (step, v.stdout)
        # the manifest on disk is never sealed, except between the seal's two renames
        state = json.loads((bundle / MANIFEST).read_text())["run"]["state"]
        assert state == "running" or step == "manifest.renamed:8", (step, state)

    # exactly between the host file's rename and the manifest that lists it
    step, proc, out = runs[steps.index("files.renamed:1")]
    bundle = the_bundle(out)
    v = hc("verify", bundle, "--allowed-signers", allowed)
    (host_file,) = (bundle / "hosts").iterdir()
    assert (f"INCOMPLETE {bundle.name}/hosts/{host_file.name}: finished after the last manifest: the scanner "
            "was killed after writing this host file and before listing it") in v.stdout, v.stdout
    assert "0 of 1 host(s) finished" in v.stdout
    m = json.loads((bundle / MANIFEST).read_text())
    assert [p["path"] for p in m["pending"]] == [f"hosts/{host_file.name}"] and m["run"]["hosts_finished"] == []
    # between the manifest's rename and its signature's: the signature is found where it was left
    step, proc, out = runs[steps.index("manifest.renamed:2")]
    v = hc("verify", the_bundle(out), "--allowed-signers", allowed)
    assert "good signature by ci (in .manifest.json.sig.next)" in v.stdout, v.stdout
    assert "killed while replacing the manifest's signature" in v.stdout


def test_a_file_slipped_into_a_killed_run_is_added_not_incomplete(tmp_path):
    """The write-ahead rule gives an attacker nothing: only a file the signed manifest announced
    (path, SHA-256, size) is 'finished after the last manifest'; any other file is 'added'."""
    key, allowed = signer(tmp_path)
    proc, out = local_scan(tmp_path, "k", key, {KILL_AT_ENV: "files.renamed:1"})
    assert proc.returncode == -signal.SIGKILL
    bundle = the_bundle(out)
    (host_file,) = (bundle / "hosts").iterdir()
    forged = json.loads(host_file.read_text())
    forged["host"]["name"] = "db1"
    (bundle / "hosts" / "db1-0123456789.json").write_text(json.dumps(forged))
    v = hc("verify", bundle, "--allowed-signers", allowed)
    assert v.returncode == 1 and f"FAIL {bundle.name}/hosts/db1-0123456789.json: added" in v.stdout, v.stdout
    # the announced file itself, altered, is not taken either
    (bundle / "hosts" / "db1-0123456789.json").unlink()
    host_file.write_text(host_file.read_text().replace('"ok"', '"OK"', 1))
    v = hc("verify", bundle, "--allowed-signers", allowed)
    assert v.returncode == 1 and "differs from the SHA-256 the manifest announced" in v.stdout, v.stdout


def start_lab_scan(lab, tmp_path, hosts, *extra, env=None, connect_timeout=120):
    inv = tmp_path / "inv.yml"
    inv.write_text(lab.inventory_path.read_text().replace("connect_timeout: 3",
                                                          f"connect_timeout: {connect_timeout}"))
    (tmp_path / "id_ed25519").write_bytes(lab.client_key_path.read_bytes())
    (tmp_path / "id_ed25519").chmod(0o600)
    (tmp_path / "known_hosts").write_bytes(lab.known_hosts_path.read_bytes())
    return subprocess.Popen([*HC, "scan", "-i", str(inv), "--ssh-config", "/dev/null", "--limit", hosts,
                             "--control", "SSH-001,FW-001", "--quiet", *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


@pytest.mark.lab
def test_a_lab_scan_killed_after_its_second_host_file(lab, tmp_path):
    key, allowed = signer(tmp_path)
    out = tmp_path / "out"
    proc = start_lab_scan(lab, tmp_path, "hardened,weak,unreachable", "--out", out, "--sign-key", key,
                          "--no-history", env={KILL_AT_ENV: "files.renamed:2"})
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    bundle = the_bundle(out)
    m = json.loads((bundle / MANIFEST).read_text())
    # the first host listed, the second renamed into place and not listed; the third is still
    # being scanned, or (it finished with the second: one batch, one manifest) announced and not
    # renamed, which verify reports as being written when the scanner was killed
    assert len(m["run"]["hosts_finished"]) == 1 and len(m["pending"]) in (1, 2)
    v = hc("verify", bundle, "--allowed-signers", allowed)
    assert v.returncode == 2 and "FAIL" not in v.stdout, v.stdout
    assert "finished after the last manifest" in v.stdout and "1 of 3 host(s) finished" in v.stdout
    # what is verified is what a report of the killed run shows: the listed host
    r = hc("report", bundle, "--format", "json", "--out", tmp_path / "after")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "after" / "results.json").read_text())
    assert [h["name"] for h in doc["hosts"]] == m["run"]["hosts_finished"]


# -- full disks ----------------------------------------------------------------------------------

@contextmanager
def small_fs(path: Path, size: str):
    """A real tmpfs of ``size`` at ``path`` (root only)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(fs: Path, leave: int = 0) -> None:
    """Write a file until ``fs`` has only ``leave`` bytes free (0: until ENOSPC)."""
    st = os.statvfs(fs)
    free = st.f_bavail * st.f_frsize
    with open(fs / f"filler-{time.monotonic_ns()}", "wb") as f:
        try:
            remaining = free - leave
            while remaining > 0:
                n = f.write(b"\0" * min(1 << 20, remaining))
                remaining -= n
            f.flush()
        except OSError:
            pass


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_out_on_a_full_disk_says_so_in_one_line_and_exits_4(tmp_path):
    with small_fs(tmp_path / "fs", "1m") as fs:
        fill(fs)
        proc = hc("scan", "--out", fs / "reports", "--no-history", "--control", "RAID-001", "--quiet")
        assert proc.returncode == 4, proc.stdout + proc.stderr
        line = one_error_line(proc.stderr)
        assert line.startswith(f"error: cannot create the run folder: {fs / 'reports'}/.") and ENOSPC in line
        assert line.endswith("; nothing was scanned")
        # nothing half-made is left: no run folder, no staging folder
        assert [p.name for p in (fs / "reports").iterdir()] == []


def test_history_on_a_full_disk_costs_the_history_not_the_bundle(tmp_path):
    with small_fs(tmp_path / "fs", "64k") as fs:
        db = fs / "history.db"
        out = tmp_path / "out"
        proc = hc("scan", "--out", out, "--history", db, "--control", "RAID-001,SSH-001", "--quiet")
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        first, last = proc.stderr.strip().splitlines()
        assert first.startswith(f"error: the run history {db} cannot be written: database or disk is full, "
                                "SQLITE_FULL; this run is not recorded there"), first
        assert last.startswith("exit code 4: the run history could not be written")
        bundle = the_bundle(out)
        assert (bundle / "results.json").is_file() and "bundle: " in proc.stdout
        assert hc("verify", bundle).returncode == 0          # the bundle is whole and complete
        assert json.loads((bundle / MANIFEST).read_text())["run"]["state"] == "complete"


def wait_for_hosts(out: Path, n: int) -> Path:
    for _ in range(600):
        bundle = the_bundle(out)
        if bundle is not None:
            try:
                if len(json.loads((bundle / MANIFEST).read_text())["run"]["hosts_finished"]) >= n:
                    return bundle
            except ValueError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"{n} hosts never finished")


@pytest.mark.lab
def test_disk_filling_up_mid_scan_keeps_the_finished_hosts(lab, tmp_path):
    """The disk fills while a slow host is still being scanned: its file cannot be written; the
    two hosts written before stay listed and intact, the scan says so in one line and exits 4."""
    with small_fs(tmp_path / "fs", "8m") as fs:
        out = fs / "reports"
        proc = start_lab_scan(lab, tmp_path, "hardened,weak,hanging", "--out", out, "--no-history",
                              connect_timeout=6)
        try:
            bundle = wait_for_hosts(out, 2)
            fill(fs)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            proc.kill()
        assert proc.returncode == 4, stdout + stderr
        line = one_error_line(stderr)
        assert line.startswith(f"error: cannot write the run bundle: {bundle}/"), line
        assert ENOSPC in line and f"{bundle} keeps 2 of 3 host(s)" in line, line
        assert "interrupted" not in stdout
        v = hc("verify", bundle)
        assert v.returncode == 2 and "FAIL" not in v.stdout, v.stdout
        assert "2 of 3 host(s) finished" in v.stdout
        m = json.loads((bundle / MANIFEST).read_text())
        assert sorted(m["run"]["hosts_finished"]) == ["hardened", "weak"]


@pytest.mark.lab
def test_disk_full_for_results_json_seals_the_bundle_as_stopped_on_an_error(lab, tmp_path):
    """Room for the last host's file, not for results.json and the reports: the hosts are kept,
    and the (small) sealed manifest says why the run stopped."""
    with small_fs(tmp_path / "fs", "8m") as fs:
        out = fs / "reports"
        proc = start_lab_scan(lab, tmp_path, "hardened,weak,hanging", "--out", out, "--no-history",
                              "--format", "html,json", connect_timeout=6)
        try:
            bundle = wait_for_hosts(out, 2)
            sizes = [f.stat().st_size for f in (bundle / "hosts").iterdir()]
            # the unreached host's file is far smaller than results.json (both hosts' evidence)
            fill(fs, leave=max(sizes) // 2 + 64 * 1024)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            proc.kill()
        assert proc.returncode == 4, stdout + stderr
        line = one_error_line(stderr)
        assert ENOSPC in line and "keeps 3 of 3 host(s), sealed as interrupted" in line, line
        v = hc("verify", bundle)
        assert v.returncode == 2 and "FAIL" not in v.stdout, v.stdout
        assert "the scan stopped on an error (" in v.stdout and "3 of 3 host(s) finished" in v.stdout
        assert not (bundle / "results.json").exists()
        r = hc("report", bundle, "--format", "json", "--out", tmp_path / "after")
        assert r.returncode == 0, r.stderr


# -- login noise ---------------------------------------------------------------------------------

def test_splitter_counts_and_marks_the_noise_it_cuts():
    nonce = new_nonce()
    s = Splitter(nonce)
    line = b"Welcome! printed by ~/.bashrc on every login\n"
    for _ in range(50_000):
        s.feed_stdout(line)
    s.feed_stderr(b"rc warning\n" * 10)
    s.feed_stdout(f"{nonce} B a\nsection output\n{nonce} E a 0\n{nonce} DONE\n".encode())
    assert s.noise_bytes() == 50_000 * len(line) + 110 and s.noise_truncated()
    assert len(s.noise().encode()) == NOISE_MAX_BYTES + 110
    quiet = Splitter(nonce)
    quiet.feed_stdout(b"motd\n" + f"{nonce} DONE\n".encode())
    assert (quiet.noise_bytes(), quiet.noise_truncated(), quiet.noise()) == (5, False, "motd\n")


@pytest.mark.lab
def test_megabytes_of_login_noise_are_kept_bounded_and_marked(lab, tmp_path):
    """The sudo host's scanner account gets a ~/.bashrc that prints 30 MB on stdout and 2 kB on
    stderr for every command (restored afterwards)."""
    rc_noise = ("yes 'login noise printed by ~/.bashrc on every command' | head -c 30000000\n"
                "head -c 2000 /dev/zero | tr '\\0' e >&2\n")
    plant = ("cp ~/.bashrc ~/.bashrc.hc-keep && { cat; cat ~/.bashrc.hc-keep; } > ~/.bashrc.new "
             "&& mv ~/.bashrc.new ~/.bashrc")
    subprocess.run(lab.ssh_argv("sudo", plant), input=rc_noise, text=True, check=True, capture_output=True)
    try:
        out = tmp_path / "out"
        proc = start_lab_scan(lab, tmp_path, "sudo", "--out", out, "--no-history", "--format", "html,json",
                              connect_timeout=10)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        subprocess.run(lab.ssh_argv("sudo", "mv ~/.bashrc.hc-keep ~/.bashrc", timeout=30), check=True,
                       capture_output=True)
    assert proc.returncode in (0, 1), stdout + stderr
    bundle = the_bundle(out)
    doc = json.loads((bundle / "results.json").read_text())
    validate_document(doc)
    assert doc["schema_version"] == SCHEMA_VERSION
    (host,) = doc["hosts"]
    assert host["status"] == "ok"
    assert host["noise_truncated"] is True and host["noise_bytes"] >= 30_000_000 + 2000
    assert len(host["noise"].encode()) <= 2 * NOISE_MAX_BYTES
    assert "login noise printed by ~/.bashrc" in host["noise"] and "eeee" in host["noise"]
    html = (bundle / "report.html").read_text()
    assert f"CUT at collection: {host['noise_bytes']} bytes were printed outside the probe sections" in html


def test_report_into_a_full_disk_says_so_in_one_line_and_exits_4(tmp_path):
    out = tmp_path / "out"
    assert hc("scan", "--out", out, "--no-history", "--control", "RAID-001", "--quiet",
              "--format", "json").returncode in (0, 1, 2)
    bundle = the_bundle(out)
    with small_fs(tmp_path / "fs", "64k") as fs:
        fill(fs)
        proc = hc("report", bundle, "--format", "html", "--out", fs / "r")
        assert proc.returncode == 4, proc.stdout + proc.stderr      # not "the html report could not be rendered"
        line = one_error_line(proc.stderr)
        assert str(fs / "r") in line and ENOSPC in line
