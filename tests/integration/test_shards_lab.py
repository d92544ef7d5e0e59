"""``scan --shard K/N`` and ``hardencheck merge`` (issue 16, part 4) on real lab hosts: the shards
of one run cover every host exactly once and merge into one normal, signed, chained, recorded run;
a missing shard leaves the merged run incomplete; shards that do not belong together are refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hardencheck.cli import main
from hardencheck.inventory.model import Host
from hardencheck.records.bundle import MANIFEST
from hardencheck.scan.shard import Shard, select

pytestmark = pytest.mark.lab

N_HOSTS = 6
CONTROLS = "SSH-001,FW-001"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from tests.conftest import lab_unavailable_or_skip
    from tests.lab import Lab
    lab_unavailable_or_skip()
    with Lab(tmp_path_factory.mktemp("shard-lab"), prefix=os.environ.get("HC_SHARD_LAB_PREFIX", "hcsh")) as running:
        running.start_clones(N_HOSTS, "hardened")
        yield running


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A copy of the control library: the shards and the merge must read the same files."""
    d = tmp_path_factory.mktemp("library") / "controls"
    shutil.copytree(Path(__file__).resolve().parents[2] / "controls", d)
    return d


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    d = tmp_path_factory.mktemp("signer")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "key")], check=True)
    (d / "allowed").write_text("ci " + " ".join((d / "key.pub").read_text().split()[:2]) + "\n")
    return d / "key", d / "allowed"


def shard_scan(lab, library, out, shard, run_id="pipe-7", *extra, inventory=None):
    return main(["scan", "-i", str(inventory or lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", str(lab.ssh_config_path), "--library", str(library), "--tom",
                 str(library / "tom" / "default.yml"), "--control", CONTROLS, "--run-id", run_id, "--shard", shard,
                 "--out", str(out), "--format", "json", "--quiet", *extra])


def host_files(folder: Path) -> dict[str, str]:
    out = {}
    for f in (folder / "hosts").glob("*.json"):
        out[json.loads(f.read_text())["host"]["name"]] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_shards_cover_every_host_once_and_merge_into_one_run(lab, library, signer, tmp_path):
    key, allowed = signer
    shards = tmp_path / "shards"
    for k in (1, 2, 3):
        assert shard_scan(lab, library, shards, f"{k}/3") in (0, 1)
    folders = sorted(shards.glob("pipe-7.shard-*-of-3"))
    assert [f.name for f in folders] == [f"pipe-7.shard-{k}-of-3" for k in (1, 2, 3)]
    assert not (shards / "history.db").exists()                       # shards keep no history
    per_shard = [host_files(f) for f in folders]
    names = [n for hf in per_shard for n in hf]
    assert sorted(names) == sorted(lab.hosts) and len(names) == len(set(names))   # exactly once
    for f in folders:
        m = json.loads((f / MANIFEST).read_text())
        assert m["previous"] is None and m["run"]["state"] == "complete"           # no chain link

    out = tmp_path / "reports"
    code = main(["merge", *map(str, folders), "--out", str(out), "--sign-key", str(key), "--format", "json,html",
                 "--quiet"])
    assert code in (0, 1)
    merged = out / "pipe-7"
    v = subprocess.run([sys.executable, "-m", "hardencheck", "verify", str(merged), "--allowed-signers", str(allowed)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    m = json.loads((merged / MANIFEST).read_text())
    assert m["run"]["state"] == "complete" and m["run"]["id"] == "pipe-7"
    assert [s["shard"] for s in m["run"]["merged_from"]] == ["1/3", "2/3", "3/3"]
    for s, f in zip(m["run"]["merged_from"], folders):
        assert s["manifest_sha256"] == hashlib.sha256((f / MANIFEST).read_bytes()).hexdigest()
    merged_files = host_files(merged)
    assert merged_files == {n: d for hf in per_shard for n, d in hf.items()}      # byte for byte
    doc = json.loads((merged / "results.json").read_text())
    assert doc["run"]["complete"] is True and sorted(h["name"] for h in doc["hosts"]) == sorted(lab.hosts)
    assert (merged / "report.html").exists()
    with sqlite3.connect(out / "history.db") as db:
        assert db.execute("SELECT state, hosts_planned FROM runs WHERE run_id = 'pipe-7'").fetchall() == \
            [("complete", N_HOSTS)]
    # the next merged run of the same inventory links to this one (the chain)
    for k in (1, 2):
        assert shard_scan(lab, library, tmp_path / "shards2", f"{k}/2", "pipe-8") in (0, 1)
    assert main(["merge", *map(str, sorted((tmp_path / "shards2").glob("pipe-8.*"))), "--out", str(out),
                 "--format", "json", "--quiet"]) in (0, 1)
    m2 = json.loads((out / "pipe-8" / MANIFEST).read_text())
    assert m2["previous"]["run_id"] == "pipe-7"


def test_a_missing_shard_makes_the_merged_run_incomplete(lab, library, tmp_path, capsys):
    shards = tmp_path / "shards"
    for k in (1, 2, 3):
        assert shard_scan(lab, library, shards, f"{k}/3") in (0, 1)
    third = host_files(shards / "pipe-7.shard-3-of-3")
    code = main(["merge", str(shards / "pipe-7.shard-1-of-3"), str(shards / "pipe-7.shard-2-of-3"),
                 "--out", str(tmp_path / "reports"), "--format", "json", "--quiet", "--no-history"])
    assert code == 2
    assert "shard 3/3 is missing" in capsys.readouterr().err
    doc = json.loads((tmp_path / "reports" / "pipe-7" / "results.json").read_text())
    assert doc["run"]["complete"] is False
    assert sorted(doc["run"]["inventory"]["not_scanned"]) == sorted(third)
    # the merge reads each host file again when it copies it (never all of them in memory): a file
    # changed after the shards were checked is refused, not merged
    from hardencheck.errors import ConfigError
    from hardencheck.scan.merge import load_shards

    loaded = load_shards([str(shards / "pipe-7.shard-1-of-3")])
    victim = next((shards / "pipe-7.shard-1-of-3" / "hosts").glob("*.json"))
    victim.write_bytes(victim.read_bytes().replace(b'"pass"', b'"fail"', 1))
    with pytest.raises(ConfigError, match="changed after the shard was checked"):
        list(loaded.host_files())


def test_shards_that_do_not_belong_together_are_refused(lab, library, tmp_path, capsys):
    shards = tmp_path / "shards"
    assert shard_scan(lab, library, shards, "1/2") in (0, 1)
    assert shard_scan(lab, library, shards, "2/2", "other-run") in (0, 1)
    one, other = shards / "pipe-7.shard-1-of-2", shards / "other-run.shard-2-of-2"
    assert main(["merge", str(one), str(other), "--out", str(tmp_path / "r"), "--quiet"]) == 3
    assert "run id other-run differs" in capsys.readouterr().err
    assert main(["merge", str(one), str(one), "--out", str(tmp_path / "r"), "--quiet"]) == 3
    assert "given twice" in capsys.readouterr().err
    assert main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path), "--library",
                 str(library), "--tom", str(library / "tom" / "default.yml"), "--control", "SSH-001",
                 "--run-id", "pipe-7", "--shard", "2/2", "--out", str(tmp_path / "s2"), "--format", "json",
                 "--quiet"]) in (0, 1)
    assert main(["merge", str(one), str(tmp_path / "s2" / "pipe-7.shard-2-of-2"), "--out", str(tmp_path / "r"),
                 "--quiet"]) == 3
    assert "another plan" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_shard_by_group_takes_whole_zones(lab, library, tmp_path):
    inv = yaml.safe_load(lab.inventory_path.read_text())
    names = sorted(inv["hosts"])
    zones = {n: f"zone-{'abc'[i % 3]}" for i, n in enumerate(names)}
    for n in names:
        inv["hosts"][n]["groups"] = [zones[n]]
    inv["groups"] = {z: {} for z in sorted(set(zones.values()))}
    path = lab.inventory_path.parent / "inventory-zones.yml"
    path.write_text(yaml.safe_dump(inv))
    out = tmp_path / "shards"
    for k in (1, 2, 3):
        assert shard_scan(lab, library, out, f"{k}/3", "zones", "--shard-by", "group", inventory=path) in (0, 1)
    for k, zone in zip((1, 2, 3), ("zone-a", "zone-b", "zone-c")):
        got = host_files(out / f"zones.shard-{k}-of-3")
        assert sorted(got) == sorted(n for n in names if zones[n] == zone)


def test_a_hosts_shard_does_not_depend_on_the_other_hosts():
    hosts = [Host(name=f"web{i}", address=f"198.18.9.{i}") for i in range(1, 40)]
    before = {h.name: k for k in range(1, 5) for h in select(hosts, Shard(k, 4))}
    more = hosts + [Host(name=f"db{i}", address=f"198.18.10.{i}") for i in range(1, 10)]
    after = {h.name: k for k in range(1, 5) for h in select(more, Shard(k, 4))}
    assert {n: after[n] for n in before} == before
    assert sorted(after) == sorted(h.name for h in more)
    assert len(set(before.values())) == 4              # every shard gets hosts


def test_merge_reconciles_the_asset_register(lab, library, tmp_path):
    shards = tmp_path / "shards"
    for k in (1, 2):
        assert shard_scan(lab, library, shards, f"{k}/2", "pipe-9") in (0, 1)
    register = tmp_path / "assets.csv"
    register.write_text("hostname,environment\n" + "".join(f"{n},prod\n" for n in lab.hosts) + "db-forgotten,prod\n")
    code = main(["merge", *map(str, sorted(shards.glob("pipe-9.*"))), "--out", str(tmp_path / "reports"),
                 "--format", "json", "--quiet", "--no-history", "--expect-hosts", str(register),
                 "--fail-on-missing-hosts"])
    assert code == 2
    doc = json.loads((tmp_path / "reports" / "pipe-9" / "results.json").read_text())
    assert "db-forgotten" in json.dumps(doc["scope"]["missing_from_inventory"])
    assert doc["scope"]["not_in_register"] == []
