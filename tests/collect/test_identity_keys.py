"""Identity files loaded once per process (collect/transports/identity_keys.py), with real keys
from ssh-keygen. That paramiko authenticates with them is shown against the lab
(tests/integration/test_ssh_paths.py)."""

from __future__ import annotations

import gc
import os
import subprocess

import pytest

from hardencheck._paramiko import paramiko
from hardencheck.collect.transports import identity_keys


def keygen(path, kind="ed25519", passphrase=""):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "test", "-f", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(identity_keys, "_loaded", {})


@pytest.mark.parametrize("kind,cls", [("ed25519", "Ed25519Key"), ("ecdsa", "ECDSAKey"), ("rsa", "RSAKey")])
def test_a_key_is_read_as_its_own_type_once(tmp_path, kind, cls):
    path = keygen(tmp_path / "id", kind)
    key = identity_keys.key_of(str(path))
    assert type(key).__name__ == cls
    assert key.get_fingerprint() == paramiko.PKey.from_path(str(path)).get_fingerprint()
    assert identity_keys.key_of(str(path)) is key          # the same object: not read again


def test_a_changed_key_file_is_read_again(tmp_path):
    path = keygen(tmp_path / "id")
    first = identity_keys.key_of(str(path))
    path.unlink()
    os.unlink(str(path) + ".pub")
    keygen(path)
    second = identity_keys.key_of(str(path))
    assert second is not first and second.get_fingerprint() != first.get_fingerprint()


def test_a_certificate_beside_the_key_is_loaded_with_it(tmp_path):
    ca = keygen(tmp_path / "ca")
    path = keygen(tmp_path / "id")
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "scanner", "-n", "root", str(path) + ".pub"],
                   check=True)
    key = identity_keys.key_of(str(path))
    assert key.public_blob is not None and key.public_blob.key_type.endswith("-cert-v01@openssh.com")
    assert identity_keys.key_of(str(path) + "-cert.pub").public_blob == key.public_blob
    # a certificate that appears later makes the key be read again
    plain = keygen(tmp_path / "id2")
    assert identity_keys.key_of(str(plain)).public_blob is None
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "scanner", "-n", "root", str(plain) + ".pub"],
                   check=True)
    assert identity_keys.key_of(str(plain)).public_blob is not None


def test_what_cannot_be_loaded_here_is_left_to_paramiko(tmp_path):
    locked = keygen(tmp_path / "locked", passphrase="secret words")
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    good = keygen(tmp_path / "good")
    for path in (locked, garbage, tmp_path / "missing"):
        assert identity_keys.key_of(str(path)) is None
        assert identity_keys.split([str(path), str(good)]) == (None, [str(path), str(good)])
    assert str(locked) not in identity_keys._loaded         # only a key that loaded is remembered


def test_split_offers_the_first_key_and_leaves_the_rest_in_order(tmp_path):
    a, b, c = (keygen(tmp_path / n) for n in "abc")
    key, rest = identity_keys.split([str(a), str(b), str(c)])
    assert key.get_fingerprint() == paramiko.PKey.from_path(str(a)).get_fingerprint()
    assert rest == [str(b), str(c)]
    assert identity_keys.split([]) == (None, [])


def test_a_tilde_path_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    keygen(tmp_path / "id")
    assert identity_keys.key_of("~/id") is not None


def test_loading_leaves_no_reference_cycles(tmp_path):
    """paramiko's own way (one try per key type) leaves its last failure in a cycle with the
    connecting thread's frames; loading by the file's own type leaves nothing for the collector."""
    path = keygen(tmp_path / "id")
    gc.collect()
    gc.disable()
    try:
        key = identity_keys.key_of(str(path))
        del key
        assert gc.collect() == 0
    finally:
        gc.enable()
