"""The CI examples in examples/ci/ (issue 16, part 4): each parses, its shard count agrees between
the scan jobs and the merge, and the GitLab pipeline's own job scripts, run as its runner would
run them (each line in sh, the pipeline's variables set), scan the lab in four shards and merge
them into one run that verifies. (The before_script - apt, pip, the SSH key - is the runner
image's business and is not run here.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"


def load(name):
    return list(yaml.safe_load_all((CI / name).read_text()))


def test_gitlab_pipeline_is_consistent():
    [p] = load("gitlab-ci.yml")
    assert p["stages"] == ["scan", "merge"]
    n = p["scan"]["parallel"]
    scan = " ".join(p["scan"]["script"])
    assert '--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in scan and '--run-id "$HC_RUN_ID"' in scan
    assert f"-of-{n}" in " ".join(p["merge"]["script"]) and p["merge"]["needs"] == ["scan"]
    assert "$CI_PIPELINE_ID" in p["variables"]["HC_RUN_ID"]


def test_github_workflow_is_consistent():
    [w] = load("github-actions.yml")
    shards = w["jobs"]["scan"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    scan = " ".join(s.get("run", "") for s in w["jobs"]["scan"]["steps"])
    assert f'--shard "${{{{ matrix.shard }}}}/{len(shards)}"' in scan
    merge = " ".join(s.get("run", "") for s in w["jobs"]["merge"]["steps"])
    assert f"-of-{len(shards)}" in merge and w["jobs"]["merge"]["needs"] == "scan"
    assert "github.run_id" in w["env"]["HC_RUN_ID"]


def test_kubernetes_jobs_are_consistent():
    scan, merge = load("kubernetes-indexed-job.yml")
    assert scan["kind"] == merge["kind"] == "Job" and scan["spec"]["completionMode"] == "Indexed"
    n = scan["spec"]["completions"]
    args = scan["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f'--shard "$((JOB_COMPLETION_INDEX + 1))/{n}"' in args
    margs = merge["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"-of-{n}" in margs
    env = lambda job: {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env(scan)["RUN_ID"] == env(merge)["RUN_ID"]


@pytest.mark.lab
def test_gitlab_job_scripts_scan_and_merge_the_lab(tmp_path):
    from tests.conftest import lab_unavailable_or_skip
    from tests.lab import Lab
    lab_unavailable_or_skip()
    [p] = load("gitlab-ci.yml")
    n = p["scan"]["parallel"]
    with Lab(tmp_path / "lab", prefix=os.environ.get("HC_CI_LAB_PREFIX", "hcci")) as lab:
        lab.start_clones(n, "hardened")
        work = tmp_path / "checkout"
        (work / "inventories").mkdir(parents=True)
        inv = lab.inventory_path.read_text()
        inv = re.sub(r"(identity_file|known_hosts_file): (\S+)", lambda m: f"{m[1]}: {lab.inventory_path.parent / m[2]}",
                     inv)
        (work / "inventories" / "prod.yml").write_text(inv)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "sign")], check=True)
        env = {**os.environ, "CI_PIPELINE_ID": "4711", "HC_KNOWN_HOSTS": str(lab.known_hosts_path),
               "HC_SIGN_KEY": str(tmp_path / "sign")}
        env["HC_RUN_ID"] = p["variables"]["HC_RUN_ID"].replace("$CI_PIPELINE_ID", env["CI_PIPELINE_ID"])
        hc = f"{sys.executable} -m hardencheck"

        def job(name, extra_env, ok=(0,)):
            for line in p[name]["script"]:
                r = subprocess.run(["sh", "-c", line.replace("/opt/hc/bin/hardencheck", hc)], cwd=work,
                                   env={**env, **extra_env}, capture_output=True, text=True, timeout=300)
                assert r.returncode in ok, (name, extra_env, line, r.stdout[-2000:], r.stderr[-2000:])

        for i in range(1, n + 1):
            job("scan", {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(n)})
        assert len(list((work / "shards").glob("gitlab-4711.shard-*"))) == n
        job("merge", {}, ok=(0, 1))      # 1: findings - the pipeline fails on them, as it should
        run = work / "reports" / "gitlab-4711"
        doc = json.loads((run / "results.json").read_text())
        assert doc["run"]["complete"] is True and len(doc["hosts"]) == n
        assert (run / "junit.xml").exists() and (run / "report.html").exists()
        v = subprocess.run([sys.executable, "-m", "hardencheck", "verify", str(run)], capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr
