"""A run's host files read back: results.json spliced from them, and their evidence on demand.

A scan keeps a finished host's evidence only until its host file is written (``hosts/<name>.json``,
``results.document_bytes`` of ``{"host", "results", "evidence"}``). The end of the run then needs
every host's results and evidence once more, for results.json and the reports; holding them all
in memory cost about a megabyte per host. Instead:

* **results.json is spliced** from the host files' bytes (``results_json_chunks``). The indenting
  encoder writes a host file's results and evidence entries at the same depth as results.json has
  them (two levels in: a top-level key, then the item), and JSON text has no raw newline inside a
  string, so the bytes between ``\\n "results": [`` and the line `` ]`` are exactly results.json's
  lines for that host's results (likewise for the evidence). The file comes out byte for byte as
  ``document_bytes`` of the whole document (tests/records/test_host_files.py compares them), at
  the cost of reading each host file once, with nothing parsed or encoded again.
  A host file that hardencheck did not write in this process (a resumed run's, a shard's) is
  spliced only after its bytes were found to be exactly what the encoder writes for its content
  (``canonical``); otherwise its parts are encoded again from the parsed file.
* **Evidence is read on demand** (``HostFileEvidence``): a read-only mapping, evidence key ->
  record, over the host files, in results.json's order, which loads one host's file at a time
  (the last one read is kept). The reports iterate it host by host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hardencheck.results import document_bytes

_RESULTS = b'\n "results": '
_EVIDENCE = b'\n "evidence": '
_RESULTS_END = b"\n ],"
_EVIDENCE_END = b"\n }\n}\n"
_HEAD = b'{\n "host": '


class HostFile:
    """One finished host's file in the run folder: where it is, its evidence keys (in file order),
    whether its bytes are known to be the encoder's own (``canonical``) and their SHA-256 as the
    manifest lists it."""

    __slots__ = ("canonical", "keys", "kept", "name", "path", "sha256")

    def __init__(self, name: str, path: Path | None, keys: list[str], canonical: bool, sha256: str | None = None,
                 kept: dict[str, Any] | None = None):
        self.name, self.path, self.keys, self.canonical, self.sha256 = name, path, keys, canonical, sha256
        self.kept = kept

    @classmethod
    def in_memory(cls, host_json: dict[str, Any]) -> "HostFile":
        """A finished host whose file could not be written (a full disk, an interrupt while its
        batch was written): its JSON stays in memory and stands in for the file."""
        return cls(host_json["host"]["name"], None, list(host_json["evidence"]), True, kept=host_json)

    def read(self) -> bytes:
        """The host file's bytes (for a host kept in memory: what its file would hold)."""
        return self.path.read_bytes() if self.kept is None else document_bytes(self.kept)

    def evidence(self) -> dict[str, Any]:
        if self.kept is not None:
            return self.kept["evidence"]
        return json.loads(self.path.read_bytes().decode("utf-8", "surrogatepass"))["evidence"]


def is_canonical(data: bytes, host_json: dict[str, Any]) -> bool:
    """True when ``data`` is exactly the host file hardencheck writes for ``host_json``."""
    return document_bytes(host_json, errors="surrogatepass") == data


def host_parts(data: bytes) -> tuple[bytes, bytes]:
    """(results lines, evidence lines) of a host file's bytes: each item as ``\\n  <item>``, items
    separated by ``,``; ``b""`` for none. Raises ValueError when the bytes are not laid out as the
    encoder writes a host file."""
    i = data.find(_RESULTS)
    j = data.find(_EVIDENCE, i + 1)
    if not data.startswith(_HEAD) or i < 0 or j < 0:
        raise ValueError("not a host file as hardencheck writes it")
    return (_inside(data[i + len(_RESULTS):j], b"[],", b"[\n  ", _RESULTS_END, "results"),
            _inside(data[j + len(_EVIDENCE):], b"{}\n}\n", b'{\n  "', _EVIDENCE_END, "evidence"))


def _inside(member: bytes, empty: bytes, start: bytes, end: bytes, what: str) -> bytes:
    """The item lines of one member's text (from its opening bracket to the end of its line)."""
    if member == empty:
        return b""
    if member.startswith(start) and member.endswith(end):
        return member[1:-len(end)]
    raise ValueError(f"the {what} part of a host file is not laid out as the encoder writes it")


def _parts(hf: HostFile) -> tuple[bytes, bytes]:
    data = hf.read()
    if not hf.canonical:
        data = document_bytes(json.loads(data.decode("utf-8", "surrogatepass")), errors="surrogatepass")
    return host_parts(data)


def results_json_chunks(skeleton: dict[str, Any], hosts: list[HostFile]) -> Iterator[bytes]:
    """results.json in chunks: ``skeleton`` is the document with ``"results": []`` and
    ``"evidence": {}`` (in that order, side by side, as ``results.document_from_host_files`` lays
    it out); the host files fill them in, in the order given. The result is byte for byte
    ``document_bytes`` of the document with every host's results and evidence in place."""
    head = document_bytes(skeleton)
    marker = _RESULTS + b"[]," + _EVIDENCE + b"{}"
    at = head.find(marker)
    if at < 0 or head.find(marker, at + 1) >= 0:
        raise ValueError("the results document has no empty results and evidence to fill in")
    yield head[:at]
    # two passes over the files (results first, then evidence): one host's bytes in memory at a time
    yield from _filled(hosts, 0, _RESULTS + b"[", b"],", _RESULTS_END)
    yield from _filled(hosts, 1, _EVIDENCE + b"{", b"}", b"\n }")
    yield head[at + len(marker):]


def _filled(hosts: list[HostFile], part: int, opening: bytes, empty: bytes, closing: bytes) -> Iterator[bytes]:
    """One of the two filled-in members: the hosts' results (``part`` 0) or evidence (1) lines,
    separated by commas, between ``opening`` and ``closing`` (``empty`` closes a member with none)."""
    yield opening
    some = False
    for hf in hosts:
        lines = _parts(hf)[part]
        if lines:
            yield b"," + lines if some else lines
            some = True
    yield closing if some else empty


class HostFileEvidence(Mapping):
    """results.json's ``evidence`` (key -> record) read from the host files when asked, one host
    at a time. Iteration, ``keys`` and ``len`` need no file; ``items``/``values`` read each host's
    file once, in order; a lookup reads the file of the key's host unless it is the last one read.
    An evidence key begins with its host's name and ``/`` (a host name has no ``/``), so no two
    host files share a key."""

    def __init__(self, hosts: list[HostFile]):
        self._hosts = hosts
        self._by_name = {hf.name: hf for hf in hosts}
        self._host_of = {k: hf for hf in hosts for k in hf.keys}
        self._cached: tuple[str | None, dict[str, Any]] = (None, {})

    def of_host(self, name: str) -> dict[str, Any]:
        """One host's evidence records (read from its file, or the last one read); {} for a host
        without a file."""
        if self._cached[0] != name:
            hf = self._by_name.get(name)
            self._cached = (name, hf.evidence() if hf is not None and hf.keys else {})
        return self._cached[1]

    def keys_of_host(self, name: str) -> list[str]:
        hf = self._by_name.get(name)
        return list(hf.keys) if hf else []

    def file_sha256(self, name: str) -> str | None:
        """The SHA-256 of a host's file as the manifest lists it (None: not known)."""
        hf = self._by_name.get(name)
        return hf.sha256 if hf else None

    def host_of(self, key: str) -> str | None:
        hf = self._host_of.get(key)
        return hf.name if hf else None

    def __getitem__(self, key: str) -> dict[str, Any]:
        hf = self._host_of.get(key)
        if hf is None:
            raise KeyError(key)
        return self.of_host(hf.name)[key]

    def __iter__(self) -> Iterator[str]:
        for hf in self._hosts:
            yield from hf.keys

    def __len__(self) -> int:
        return len(self._host_of)

    def items(self):
        return _Items(self)

    def values(self):
        return _Values(self)


class _Items:
    """``items()`` of a HostFileEvidence: each host's file read once, in order."""

    def __init__(self, ev: HostFileEvidence):
        self.ev = ev

    def __len__(self) -> int:
        return len(self.ev)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for hf in self.ev._hosts:
            if hf.keys:
                records = self.ev.of_host(hf.name)
                for k in hf.keys:
                    yield k, records[k]


class _Values(_Items):
    def __iter__(self) -> Iterator[dict[str, Any]]:      # type: ignore[override]
        for _, v in _Items.__iter__(self):
            yield v
