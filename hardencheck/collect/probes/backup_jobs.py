"""backup.jobs: where each configured backup job (restic, borg/borgmatic, duplicity/duply) writes,
and whether what it writes is encrypted - read from the jobs' own configuration files.

Needs root (job files hold or point to passwords). The host prints only whitelisted keys, by a
fixed sed program: repository settings (``RESTIC_REPOSITORY``, ``BORG_REPO``, duply ``TARGET``,
borgmatic ``repositories`` entries, ``restic -r …`` in scripts) with any URL user-info replaced by
``***``, password *files* (``RESTIC_PASSWORD_FILE``) and, for keys whose value is or may hold a
secret (``RESTIC_PASSWORD``, ``BORG_PASSPHRASE``, ``BORG_PASSCOMMAND`` - a command can be ``echo
secret`` -, duply ``GPG_PW``, ``encryption_passphrase`` …), only the key name: passwords never leave
the host.

Encryption: restic repositories are always encrypted; duplicity encrypts unless
``--no-encryption`` or duply's ``GPG_KEY='disabled'``; for borg, the key type that borg itself
recorded for the repository on this host (``~root/.config/borg/security/<id>/key-type``, matched by
its ``location``): plaintext and authenticated-only keys are not encryption, and a repository borg
has no record of stays undetermined (an ``error`` in the control, never a pass).

``job_files`` (remote): the job files; empty means the usual places (/etc/restic, /etc/default/restic,
/etc/borgmatic, /etc/borgmatic.d, /etc/duply, /root/.duply, /root/.config/borgmatic), where a file
without any backup setting (an excludes list) is not counted as a job.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe

#: keys whose value is or may hold a secret (a password command can be ``echo secret``): only the
#: name leaves the host
SECRET_KEYS = ("RESTIC_PASSWORD_COMMAND", "RESTIC_PASSWORD", "BORG_PASSCOMMAND", "BORG_PASSPHRASE",
               "PASSPHRASE", "SIGN_PASSPHRASE", "GPG_PW", "GPG_PW_SIGN", "AWS_SECRET_ACCESS_KEY",
               "B2_ACCOUNT_KEY", "AZURE_ACCOUNT_KEY", "OS_PASSWORD", "encryption_passcommand",
               "encryption_passphrase")
VALUE_KEYS = ("RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD_FILE", "BORG_REPO",
              "BORG_PASSPHRASE_FD", "BORG_KEY_FILE", "TARGET", "GPG_KEY")
_SCHEMES = "ssh|sftp|s3|rest|b2|azure|gs|swift|rclone|file|scp|rsync|webdav|webdavs|ftp|ftps|local|pexpect\\+[a-z]+|paramiko\\+[a-z]+"
_REDACT = "sed -E 's#(://)[^/@[:space:]]*@#\\1***@#g; s#^(V [A-Za-z_]+ |L )([a-z0-9+]+:)[^/@[:space:]]*:[^/@[:space:]]*@#\\1\\2***@#'"
_SED = (
    "sed -n -E "
    "-e 's/^[[:space:]]*(export[[:space:]]+)?(" + "|".join(SECRET_KEYS) + ")[[:space:]]*[=:].*/S \\2/p' "
    "-e 's/^[[:space:]]*(export[[:space:]]+)?(" + "|".join(VALUE_KEYS) + ")[[:space:]]*[=:][[:space:]]*(.{0,300}).*/V \\2 \\3/p' "
    "-e 's#^HCREPO (path:[[:space:]]*)?[\"'\\'']?([^\"'\\''[:space:]]{1,300}).*#L \\2#p' "
    "-e 's/.*(--no-encryption).*/N no-encryption/p' "
    "-e 's/.*restic[[:space:]].*(-r|--repo)[[:space:]=]+([^[:space:]]{1,300}).*/V RESTIC_REPOSITORY \\2/p'"
)
#: marks the list items under a YAML ``repositories:`` key (borgmatic) as ``HCREPO <item>``
_YAML_REPOS = (
    "awk '{ line = $0 } /^[[:space:]]*repositories:[[:space:]]*$/ { match(line, /^[[:space:]]*/); "
    "ind = RLENGTH; inr = 1; print; next } inr && line !~ /^[[:space:]]*(#|$)/ { match(line, /^[[:space:]]*/); "
    "if (RLENGTH <= ind && line !~ /^[[:space:]]*-/) inr = 0 } "
    "inr && line ~ /^[[:space:]]*-[[:space:]]/ { sub(/^[[:space:]]*-[[:space:]]*/, \"\", line); "
    "print \"HCREPO \" line; next } { print }'"
)
_JOBS = (
    "if [ -n \"$1\" ]; then files=$1; else files=$(for g in /etc/restic/* /etc/default/restic "
    "/etc/borgmatic/config.yaml /etc/borgmatic.d/*.yaml /etc/borgmatic.d/*.yml /etc/duply/*/conf "
    "/root/.duply/*/conf /root/.config/borgmatic/config.yaml; do [ -f \"$g\" ] && case $g in "
    "*password*|*passphrase*|*.key|*~) ;; *) printf '%s\\n' \"$g\";; esac; done); fi; "
    "printf '%s\\n' \"$files\" | while IFS= read -r f; do [ -n \"$f\" ] || continue; "
    "if [ ! -e \"$f\" ]; then printf 'M %s\\n' \"$f\"; continue; fi; "
    "if [ ! -r \"$f\" ] || [ -d \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
    "printf 'J %s\\n' \"$f\"; head -c 262144 \"$f\" | " + _YAML_REPOS + " | " + _SED + " | " + _REDACT + " | head -n 100; "
    "rf=$(sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?RESTIC_REPOSITORY_FILE[[:space:]]*=[[:space:]]*[\"'\\'']?([^\"'\\''[:space:]]+).*/\\2/p' \"$f\" | head -n 1); "
    "if [ -n \"$rf\" ] && [ -r \"$rf\" ] && [ -f \"$rf\" ]; then head -n 1 \"$rf\" | cut -c 1-300 | "
    "sed 's/^/V RESTIC_REPOSITORY /' | " + _REDACT + "; fi; done"
)
_BORGSEC = (
    "for d in /root/.config/borg/security/*/; do [ -f \"${d}location\" ] || continue; "
    "printf 'B %s %s\\n' \"$(head -c 16 \"${d}key-type\" 2>/dev/null | tr -cd '0-9')\" "
    "\"$(head -n 1 \"${d}location\" | cut -c 1-300)\" | " + _REDACT.replace("^(V [A-Za-z_]+ |L )", "^(B [0-9]* )") + "; done; exit 0"
)
#: borg 1.x key TYPE values (borg/crypto/key.py): which of them encrypt
BORG_ENCRYPTING = {"0": "keyfile", "1": "passphrase", "3": "repokey", "4": "keyfile-blake2",
                   "5": "repokey-blake2"}
BORG_PLAIN = {"2": "none", "6": "authenticated-blake2", "7": "authenticated"}
_LOOPBACK = re.compile(r"^(localhost|127\.[0-9.]+|\[?::1\]?)$", re.I)


def _host_of(repo: str) -> str | None:
    """The host a repository URL names, or None for a local path."""
    r = repo.strip("'\"")
    m = re.match(r"^(?:rest:|rclone:)?[a-z0-9+]+://(?:[^/@]*@)?(\[[^\]]+\]|[^/:]+)", r, re.I)
    if m:
        return None if r.lower().startswith(("file://", "local:")) else m.group(1)
    m = re.match(r"^sftp:(?:[^@/]*@)?([^:/]+):", r)
    if m:
        return m.group(1)
    if re.match(r"^(s3|b2|azure|gs|swift|rclone):", r):
        return r.split(":", 1)[0] + " service"
    m = re.match(r"^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9._-]+):(?!//)", r)
    if m and not r.startswith(("/", "local:")):
        return m.group(1)
    return None


def _borg_location(repo: str) -> str:
    """A borg repository as borg records it in its security folder (``canonical_path``), without
    the user (redacted on the host in one of the two): ``user@host:repo`` -> ``ssh://host/./repo``."""
    r = repo.strip("'\"").rstrip("/")
    m = re.match(r"^(?:[^@/:]+@)?([A-Za-z0-9._-]+):(?!//)(.*)$", r)
    if m and not r.startswith("/"):
        path = m.group(2)
        path = path if path.startswith("/") else "/" + path if path.startswith("~") else "/./" + path
        return f"ssh://{m.group(1)}{path}"
    return re.sub(r"^ssh://[^@/]*@", "ssh://", r)


def _remote(repo: str) -> bool:
    host = _host_of(repo)
    return host is not None and not _LOOPBACK.match(host)


class BackupJobs(Probe):
    name = "backup.jobs"
    summary = ("Backup jobs (restic, borg/borgmatic, duplicity/duply): repository remote or local, "
               "encrypted or not, from the job files (passwords never leave the host)")
    timeout = 30
    args = {
        "job_files": Arg("path_list", default=[], remote=True,
                         doc="the backup jobs' configuration/env files (empty: the usual places)"),
    }
    commands = {"jobs": _JOBS, "borg_security": _BORGSEC}

    def parse(self, out, args):
        sec = complete_section(out, "jobs", "backup job files", ran="reading backup job files",
                               truncated="backup job files: output truncated",
                               refused=lambda s: f"backup job file: {clean(s.stderr, 160) or 'not readable'}")
        if sec.stderr.strip():   # a filter that failed prints nothing: never read that as "no setting"
            raise ProbeError("probe_failed", f"backup job files: {clean(sec.stderr, 200)}")
        bsec = complete_section(out, "borg_security", "borg security records")
        borg_keys: dict[str, str] = {}
        for line in bsec.stdout.splitlines():
            m = re.match(r"^B ([0-9]*) (.+)$", line)
            if not m:
                raise ProbeError("unparsable", f"borg security records: unexpected line {clean(line, 60)!r}")
            borg_keys[_borg_location(clean(m.group(2), 300))] = m.group(1)
        jobs, missing = [], []
        for line in sec.stdout.splitlines():
            kind, _, body = line.partition(" ")
            if kind == "M":
                missing.append(clean(body, 300))
            elif kind == "J":
                jobs.append({"file": clean(body, 300), "keys": {}, "secrets": [], "repos": [], "noenc": False})
            elif not jobs or kind not in ("S", "V", "L", "N"):
                raise ProbeError("unparsable", f"backup job files: unexpected line {clean(line, 60)!r}")
            elif kind == "S":
                jobs[-1]["secrets"].append(body)
            elif kind == "V":
                key, _, value = body.partition(" ")
                value = clean(value.strip().strip("'\""), 300)
                jobs[-1]["keys"][key] = value
                if key in ("RESTIC_REPOSITORY", "BORG_REPO", "TARGET") and value:
                    jobs[-1]["repos"].append(value)
            elif kind == "L":
                jobs[-1]["repos"].append(clean(body.strip().strip("'\""), 300))
            else:
                jobs[-1]["noenc"] = True
        if not args.get("job_files"):
            # found in the usual places: a file without any backup setting (an excludes list, a
            # README) is not a job; a file named in job_files always is
            jobs = [j for j in jobs if j["keys"] or j["secrets"] or j["repos"] or j["noenc"]]
        facts = [_judge_job(j, borg_keys) for j in jobs]
        return {
            "job_count": len(facts),
            "jobs": facts,
            "missing_jobs": missing,
            "local_jobs": [f"{j['file']}: {r}" for j in facts for r in j["repositories"] if not _remote(r)],
            "unencrypted_jobs": [f"{j['file']}: {j['encryption']}" for j in facts if j["encrypted"] is False],
            "undetermined_jobs": [f"{j['file']}: {j['encryption']}" for j in facts if j["encrypted"] is None],
        }


def _tool(job: dict) -> str:
    keys = set(job["keys"]) | set(job["secrets"])
    if any(k.startswith("RESTIC_") for k in keys):
        return "restic"
    if any(k.startswith("BORG_") or k.startswith("encryption_") for k in keys) or job["file"].endswith((".yaml", ".yml")):
        return "borg"
    if keys & {"TARGET", "GPG_KEY", "GPG_PW", "PASSPHRASE"} or job["noenc"] or "duply" in job["file"]:
        return "duplicity"
    return "unknown"


def _judge_job(job: dict, borg_keys: dict[str, str]) -> dict:
    tool = _tool(job)
    repos = list(dict.fromkeys(job["repos"]))
    encrypted, why = None, "no repository found in the job file"
    if not repos:
        pass
    elif tool == "restic":
        encrypted, why = True, "restic repositories are always encrypted"
    elif tool == "duplicity":
        if job["noenc"] or job["keys"].get("GPG_KEY", "").lower() == "disabled":
            encrypted, why = False, "encryption disabled (--no-encryption or GPG_KEY disabled)"
        else:
            encrypted, why = True, "duplicity encrypts with GPG (not disabled)"
    elif tool == "borg":
        types = [borg_keys.get(_borg_location(r)) for r in repos]
        if any(t in BORG_PLAIN for t in types):
            encrypted, why = False, "borg key type " + ", ".join(BORG_PLAIN[t] for t in types if t in BORG_PLAIN)
        elif types and all(t in BORG_ENCRYPTING for t in types):
            encrypted, why = True, "borg key type " + ", ".join(BORG_ENCRYPTING[t] for t in types)
        else:
            why = "borg has no security record of this repository on the host (key type unknown)"
    else:
        why = "not a restic, borg or duplicity job"
    return {"file": job["file"], "tool": tool, "repositories": repos,
            "remote": bool(repos) and all(_remote(r) for r in repos),
            "encrypted": encrypted, "encryption": why,
            "password_source": sorted(k for k in job["keys"] if "PASS" in k.upper() or k == "GPG_KEY")
            + sorted(job["secrets"])}
