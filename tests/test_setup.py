"""The README's set-up commands on a stock Debian/Ubuntu Python (issue: PEP 668).

The first README command is run as written (in a copy of the checkout, with the PATH sudo gives:
/usr/bin:/bin, so no pyenv or other Python comes first): it makes a venv of the system
/usr/bin/python3, installs the package into it from the checkout (no mock, no editable link to
the checkout) and scans this machine; only the scan gets ``--out``/``--no-history``/``--format``
so that nothing lands in the checkout. The second command, ``sudo .ci/run``, is what runs this
test; its script is checked for what makes it work there (system Python, its own venv).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PY = "/usr/bin/python3"
SUDO_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/root")}


def readme_setup_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Set up\n", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", section, re.S)]


def system_venv_missing() -> str | None:
    if not Path(SYSTEM_PY).exists():
        return f"{SYSTEM_PY} does not exist"
    p = subprocess.run([SYSTEM_PY, "-c", "import venv, ensurepip"], capture_output=True, text=True)
    if p.returncode != 0:
        return f"{SYSTEM_PY} has no venv/ensurepip (apt-get install python3-venv): {p.stderr.strip()[-200:]}"
    return None


def test_readme_setup_section_is_two_commands():
    install, tests = readme_setup_commands()
    assert "\n" not in install                     # one line to type
    steps = [s.strip() for s in install.split("&&")]
    assert any(s.startswith("sudo apt-get install") and "python3-venv" in s for s in steps)
    assert f"{SYSTEM_PY} -m venv .venv" in steps
    assert ".venv/bin/pip install ." in steps
    assert steps[-1].startswith("sudo .venv/bin/hardencheck scan")
    assert tests == "sudo .ci/run"
    section = (REPO / "README.md").read_text().split("\n## Set up\n", 1)[1].split("\n## ", 1)[0]
    assert "pipx install ." in section
    assert "python -m pytest" in section          # the command .ci/run runs


def test_ci_run_uses_the_system_python_and_its_own_venv():
    script = (REPO / ".ci" / "run").read_text()
    code = "\n".join(line.split(" #", 1)[0] for line in script.splitlines()
                     if not line.lstrip().startswith("#"))
    assert os.access(REPO / ".ci" / "run", os.X_OK)
    assert re.search(r'^PY=/usr/bin/python3\s*$', code, re.M)
    assert re.search(r'"\$PY" -m venv\b.*"\$VENV"', code)
    assert re.search(r'^VENV=\.venv\s*$', code, re.M)
    apt = re.search(r"apt_packages=\((.*?)\)", code).group(1).split()
    assert "python3-venv" in apt and "openssh-server" in apt and "chromium" in apt
    assert re.search(r'"\$VENV/bin/python" -m pip install .*-e \'\.\[test\]\'', code)
    assert re.search(r'"\$VENV/bin/python" -m pytest -q -p no:cacheprovider "\$@"', code)
    # no bare python3/pip from PATH anywhere (the apt package list aside)
    commands = "\n".join(line for line in code.splitlines() if not line.startswith("apt_packages="))
    assert not re.search(r"(?<![/\w.-])(?<!-m )(python3?|pip3?)\s+(-m|-c|install)\b", commands), commands
    assert "DEBIAN_FRONTEND=noninteractive" in code and "apt-get install -y" in code


def _copy_checkout(dest: Path) -> None:
    """Tracked and untracked-but-not-ignored files: what a clone plus local edits holds."""
    p = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO,
                       capture_output=True, check=True)
    for rel in filter(None, p.stdout.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_readme_install_command_on_the_system_python(tmp_path):
    why = system_venv_missing()
    if os.geteuid() != 0 or shutil.which("sudo", path=SUDO_ENV["PATH"]) is None:
        why = why or "the README's command uses sudo (apt-get, and the scan of this machine runs as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"must run in CI: {why}")
        pytest.skip(why)
    checkout, out = tmp_path / "checkout", tmp_path / "out"
    _copy_checkout(checkout)
    install, _ = readme_setup_commands()
    command = install + " " + shlex.join(["--out", str(out), "--no-history", "--format", "json", "--quiet"])
    p = subprocess.run(["bash", "-c", command], cwd=checkout, env=SUDO_ENV, capture_output=True,
                       text=True, timeout=1500, stdin=subprocess.DEVNULL)
    assert p.returncode in (0, 1), p.stdout[-3000:] + p.stderr[-3000:]   # 1: failures found

    venv = checkout / ".venv"
    cfg = (venv / "pyvenv.cfg").read_text()
    assert re.search(r"^home = /usr/bin$", cfg, re.M), cfg
    # the installed package, not the checkout on sys.path
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sys, hardencheck; print(sys.base_prefix, hardencheck.__file__)"],
                           cwd=tmp_path, env=SUDO_ENV, capture_output=True, text=True, check=True).stdout.split()
    assert where[0] == "/usr" and where[1].startswith(str(venv / "lib")), where
    version = re.search(r'__version__ = "([^"]+)"', (REPO / "hardencheck" / "__init__.py").read_text()).group(1)
    v = subprocess.run([str(venv / "bin" / "hardencheck"), "--version"], cwd=tmp_path, env=SUDO_ENV,
                       capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.strip() == f"hardencheck {version}", v.stdout + v.stderr

    results = sorted(out.glob("*/results.json"))
    assert len(results) == 1, (sorted(out.rglob("*")), p.stdout[-2000:], p.stderr[-2000:])
    doc = json.loads(results[0].read_text())
    assert len(doc["hosts"]) == 1 and doc["results"]
    assert doc["hosts"][0]["status"] == "ok", doc["hosts"][0]
    assert not list((checkout / "reports").glob("*/results.json"))      # --out was honoured
    assert not (checkout / "reports" / "history.db").exists()          # and --no-history
