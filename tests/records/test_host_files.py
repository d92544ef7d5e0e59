"""records.host_files: results.json spliced from host files is byte for byte the document the
encoder writes from everything in memory, and the evidence read back on demand is the same mapping."""

from __future__ import annotations

import json
import random

import pytest

from hardencheck.records.host_files import HostFile, HostFileEvidence, host_parts, is_canonical, \
    results_json_chunks
from hardencheck.results import document_bytes, document_from_host_files

RNG = random.Random(2026)
TEXTS = ["", "plain", "ä\u2028\x1f\"\\/", "line\nbreak", ' "results": [', '\n "evidence": {', "]\n ],", "x" * 300]


def _value(depth: int):
    kind = RNG.random()
    if depth > 3 or kind < 0.4:
        return RNG.choice([None, True, 0, -3, 1.5, *TEXTS])
    if kind < 0.7:
        return [_value(depth + 1) for _ in range(RNG.randrange(4))]
    return {RNG.choice(TEXTS + ["k", "results", "evidence"]): _value(depth + 1) for _ in range(RNG.randrange(4))}


def _host(name: str, n_results: int, n_evidence: int) -> dict:
    results = [{"host": name, "control": f"C-{i}", "status": "pass", "actual": _value(0),
                "evidence": {"sections": [f"{name}/p/{i}"], "host": {"name": name}}} for i in range(n_results)]
    evidence = {f"{name}/p/{i}": {"host": name, "stdout": RNG.choice(TEXTS), "more": _value(0)}
                for i in range(n_evidence)}
    return {"host": {"name": name, "status": "ok", "noise": RNG.choice(TEXTS)}, "results": results,
            "evidence": evidence}


def _write(tmp_path, hosts: list[dict]) -> list[HostFile]:
    out = []
    for h in hosts:
        p = tmp_path / f"{h['host']['name']}.json"
        data = document_bytes(h)
        p.write_bytes(data)
        out.append(HostFile(h["host"]["name"], p, list(h["evidence"]), is_canonical(data, h)))
    return out


def _document(hosts: list[dict], **kw) -> dict:
    return document_from_host_files({"id": "r1", "text": "\n \"results\": [],"}, [{"id": "C-1"}],
                                    hosts, tom={"items": [{"hosts": {"a": "met"}}]}, **kw)


@pytest.mark.parametrize("shape", [
    [(3, 2), (0, 0), (1, 4), (2, 0), (0, 3)],     # hosts without results, without evidence
    [(0, 0)],                                     # one host with nothing
    [],                                           # no host finished
    [(5, 5)] * 7,
])
def test_spliced_results_json_is_the_encoded_document(tmp_path, shape):
    for _ in range(20):
        hosts = [_host(f"h{i}", r, e) for i, (r, e) in enumerate(shape)]
        files = _write(tmp_path, hosts)
        whole = document_bytes(_document(hosts))
        light = [{"host": h["host"], "results": h["results"]} for h in hosts]
        doc = _document(light, evidence=HostFileEvidence(files))
        spliced = b"".join(results_json_chunks(dict(doc, results=[], evidence={}), files))
        assert spliced == whole
        assert json.loads(spliced) == json.loads(whole)
        assert doc == json.loads(whole)          # the lazy evidence compares equal to the real one


def test_a_file_not_laid_out_by_the_encoder_is_encoded_again(tmp_path):
    """A resumed run's or a shard's file in another layout (same content) is not spliced as it is."""
    hosts = [_host("a", 2, 2), _host("b", 1, 1)]
    files = _write(tmp_path, hosts)
    compact = json.dumps(hosts[1], ensure_ascii=True).encode()
    files[1].path.write_bytes(compact)
    assert not is_canonical(compact, hosts[1])
    with pytest.raises(ValueError):
        host_parts(compact)
    files[1].canonical = False
    light = [{"host": h["host"], "results": h["results"]} for h in hosts]
    doc = _document(light, evidence=HostFileEvidence(files))
    assert b"".join(results_json_chunks(dict(doc, results=[], evidence={}), files)) == \
        document_bytes(_document(hosts))


def test_evidence_is_read_one_host_at_a_time(tmp_path, monkeypatch):
    hosts = [_host(f"h{i}", 1, 3) for i in range(4)] + [_host("empty", 1, 0)]
    files = _write(tmp_path, hosts)
    ev = HostFileEvidence(files)
    reads = []
    real = type(files[0].path).read_bytes
    monkeypatch.setattr(type(files[0].path), "read_bytes", lambda p: reads.append(p.name) or real(p))
    assert list(ev) == [k for h in hosts for k in h["evidence"]] and len(ev) == 12
    assert reads == []                                   # keys and length need no file
    assert dict(ev.items()) == {k: v for h in hosts for k, v in h["evidence"].items()}
    assert reads == ["h0.json", "h1.json", "h2.json", "h3.json"]   # each file once; none for no evidence
    reads.clear()
    assert ev["h3/p/0"] == hosts[3]["evidence"]["h3/p/0"] and ev["h3/p/2"]["host"] == "h3"
    assert reads == []                                   # the last host read is kept
    assert ev["h1/p/1"] == hosts[1]["evidence"]["h1/p/1"] and reads == ["h1.json"]
    assert ev.host_of("h2/p/0") == "h2" and ev.keys_of_host("h2") == list(hosts[2]["evidence"])
    assert "nope" not in ev and ev.get("h9/p/0") is None and ev.of_host("empty") == {}
    with pytest.raises(KeyError):
        ev["h0/p/9"]


def test_a_host_whose_file_was_not_written_stands_in_from_memory(tmp_path):
    """The disk filled (or an interrupt came) while a batch was written: those hosts' JSON, kept
    in memory, fills results.json and the evidence like a file would."""
    hosts = [_host("a", 2, 2), _host("b", 1, 3), _host("c", 0, 1)]
    files = _write(tmp_path, hosts[:1]) + [HostFile.in_memory(hosts[1]), *_write(tmp_path, hosts[2:])]
    light = [{"host": h["host"], "results": h["results"]} for h in hosts]
    ev = HostFileEvidence(files)
    doc = _document(light, evidence=ev)
    assert b"".join(results_json_chunks(dict(doc, results=[], evidence={}), files)) == \
        document_bytes(_document(hosts))
    assert ev["b/p/2"] == hosts[1]["evidence"]["b/p/2"] and ev.of_host("b") is hosts[1]["evidence"]
