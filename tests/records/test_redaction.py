"""Redaction rules: what they catch, what they leave alone, and how they are counted."""

import subprocess
from pathlib import Path

import pytest
import yaml

from hardencheck.records.redaction import BUILTIN_RULES, Redactor, redact_outcome, user_rule
from hardencheck.results import HostOutcome, HostRecord, Result

R = Redactor()


def one(text):
    return R.text(text)


@pytest.fixture(scope="module")
def openssh_key(tmp_path_factory):
    key = tmp_path_factory.mktemp("k") / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key.read_text()


def test_private_keys_whole_commented_and_cut_off(openssh_key):
    body = [ln for ln in openssh_key.splitlines() if not ln.startswith("-----")]
    for text in (openssh_key, "".join(f"# {ln}\n" for ln in openssh_key.splitlines()),
                 "before\n" + openssh_key[: len(openssh_key) // 2]):    # truncated mid-key
        out, found = one(text)
        assert found == {"private-key": 1}, text
        assert "[REDACTED:private-key]" in out and not any(b in out for b in body)
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n" \
          "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHz\n-----END ENCRYPTED PRIVATE KEY-----"
    out, found = one(pem)
    assert found == {"private-key": 2} and "MII" not in out
    # a certificate or a public key is not a secret
    cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAV\n-----END CERTIFICATE-----"
    assert one(cert) == (cert, {})


@pytest.mark.parametrize("hash_", [
    "$6$rounds=5000$saltsalt$" + "a" * 86,
    "$y$j9T$F5Jx5fExrKuJdvE1Fg.Ol0$8FtH9VQ8mcs1fhE0OP6Zq1JzEFh3O4.c3VQO8ZVgcE2",
    "$2b$12$" + "b" * 53,
    "$1$abcdefgh$" + "c" * 22,
    "$5$saltsalt$" + "d" * 43,
    "$gy$j9T$abc$" + "e" * 43,
])
def test_crypt_hashes_anywhere(hash_):
    out, found = one(f"found {hash_} in the log")
    assert hash_ not in out and sum(found.values()) == 1


def test_shadow_lines_also_old_des_hashes():
    text = ("root:$6$abcdefgh$" + "x" * 86 + ":19000:0:99999:7:::\n"
            "legacy:ab01FAX.bQRSU:19000:0:99999:7:::\n"
            "locked:!ab01FAX.bQRSU:19000:0:99999:7:::\n"
            "daemon:*:19000:0:99999:7:::\nnopw:!:19000::::::\nempty::19000:0:99999:7:::\n")
    out, found = one(text)
    assert found == {"shadow-hash": 3}
    assert "ab01FAX" not in out and "$6$" not in out
    assert "daemon:*:19000" in out and "nopw:!:19000" in out and "empty::19000" in out


def test_key_value_secrets_and_urls():
    out, found = one('db_password=hunter2 user=bob\nAPI_KEY: "k-123"\n{"token": "t-456"}\n'
                     "url=https://bob:pa55word@example.org/x\nAuthorization: Bearer eyJhbGciOi\n"
                     "client_secret='s e c'\n")
    for secret in ("hunter2", "k-123", "t-456", "pa55word", "eyJhbGciOi", "s e c"):
        assert secret not in out
    assert "user=bob" in out and "https://bob:[REDACTED:url-credentials]@example.org/x" in out
    assert found == {"secret-value": 4, "url-credentials": 1, "auth-header": 1}


def test_settings_that_mention_passwords_are_not_secrets():
    text = ("passwordauthentication no\nPasswordAuthentication=no\npermitemptypasswords no\n"
            "password requisite pam_pwquality.so retry=3\npassword [success=1 default=ignore] pam_unix.so "
            "obscure yescrypt\nPASS_MAX_DAYS 90\nENCRYPT_METHOD SHA512\ntoken=none\n"
            "kbdinteractiveauthentication no\n")
    assert one(text) == (text, {})


def test_the_sudo_password_as_a_literal_and_user_rules():
    r = Redactor(BUILTIN_RULES + (user_rule("acme-token", r"acme_[0-9a-f]{8}"),)).with_literals(
        [("sudo-password", "Tr0ub4dor&3"), ("nothing", "")])
    out, found = r.text("echo Tr0ub4dor&3 | sudo -S; deploy acme_0123abcd now")
    assert out == "echo [REDACTED:sudo-password] | sudo -S; deploy [REDACTED:acme-token] now"
    assert found == {"sudo-password": 1, "acme-token": 1}


def test_redaction_is_idempotent():
    text = "db_password=hunter2 root:ab01FAX.bQRSU:19000:0:99999:7:::"
    once, _ = one(text)
    assert one(once) == (once, {})


def test_outcome_redaction_marks_records_and_counts_per_host():
    record = HostRecord(name="h", identity={"name": "h", "address": "a"},
                        noise="legacy:ab01FAX.bQRSU:19000:0:99999:7:::\n")
    ev = {"h/x": {"stdout": "db_password=hunter2\n", "stderr": ""}, "h/y": {"stdout": "ok", "stderr": ""}}
    res = Result(host="h", control="C-001", status="fail", severity="low", expected="",
                 actual={"line": "token=abc"}, message="saw token=abc")
    o = HostOutcome(record, [res], ev)
    totals = redact_outcome(o, Redactor())
    assert totals == {"shadow-hash": 1, "secret-value": 3}
    assert o.evidence["h/x"]["redactions"] == {"secret-value": 1} and "redactions" not in o.evidence["h/y"]
    assert record.redactions == totals and "ab01FAX" not in record.noise
    assert res.actual == {"line": "token=[REDACTED:secret-value]"} and "abc" not in res.message


# fixtures that carry a secret on purpose (hostile or careless host output)
PLANTED = {
    "probes/accounts.shadow/hash_leak_attempt.yml shadow.stdout": {"password-hash": 1},
    "probes/syslog.forwarding/debian12_journal_upload.yml services.stdout": {"url-credentials": 1},
}


def test_probe_fixtures_lose_only_their_planted_secrets():
    """The probe fixtures are real output of Debian, Ubuntu, RHEL and Alpine hosts: apart from
    the planted secrets the rules must leave all of it alone (a false positive hides evidence)."""
    hits = {}
    for f in sorted(Path(__file__).parents[1].glob("probes/*/*.yml")):
        case = yaml.safe_load(f.read_text())
        for name, sec in (case.get("sections") or {}).items():
            for stream in ("stdout", "stderr"):
                text = (sec or {}).get(stream) or ""
                out, found = R.text(text)
                if found:
                    hits[f"{f.relative_to(Path(__file__).parents[1])} {name}.{stream}"] = found
    assert hits == PLANTED


def test_the_quick_path_skips_only_texts_no_built_in_rule_can_match():
    """Texts without ':', '=', '$' and 'PRIVATE KEY' are returned as they are without a search; a
    redactor with its own rules (or a sudo password) searches every text."""
    from hardencheck.records.redaction import BUILTIN_RULES, Redactor, user_rule

    r = Redactor()
    assert r.with_literals([]) is r and r.rules is BUILTIN_RULES
    assert r.text("plain words only") == ("plain words only", {})
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
    assert r.text(pem)[1] == {"private-key": 1}
    own = Redactor((user_rule("internal-id", r"ACME-\d+"),) + BUILTIN_RULES)
    assert own.text("ticket ACME-42 done") == ("ticket [REDACTED:internal-id] done", {"internal-id": 1})
    lit = r.with_literals([("sudo-password", "hunter2")])
    assert lit.text("typed hunter2 twice")[1] == {"sudo-password": 1}
    # one string met twice in one host's outcome is searched once and counted twice
    value, found = r.value({"a": "password=s3cret", "b": ["password=s3cret"]})
    assert found == {"secret-value": 2} and value["a"] == value["b"][0] != "password=s3cret"


def test_values_without_secrets_come_back_as_they_are_and_the_input_never_changes():
    import copy
    secret = "password=hunter2hunter2"
    clean = {"a": ["x: 1", {"b": "no secret here", "n": 3, "f": 1.5, "t": True, "z": None}], "c": ("k=v",)}
    out, found = Redactor().value(clean)
    assert found == {}
    assert out["a"] is clean["a"] and out["a"][1] is clean["a"][1]   # not copied
    assert out["c"] == ["k=v"]                                       # tuples become lists, as before
    mixed = {"keep": {"x": "fine"}, "list": ["fine", secret], "deep": {"l": [{"s": secret}]}}
    before = copy.deepcopy(mixed)
    out, found = Redactor().value(mixed)
    assert mixed == before                                           # the input is never changed
    assert found == {"secret-value": 2}
    assert out["keep"] is mixed["keep"]                              # the clean part is shared
    assert out["list"] is not mixed["list"] and out["list"][0] == "fine"
    assert out["list"][1] == "password=[REDACTED:secret-value]"
    assert out["deep"]["l"][0]["s"] == "password=[REDACTED:secret-value]"


def test_texts_redacted_before_are_remembered_with_their_counts_and_the_memory_is_bounded(monkeypatch):
    r = Redactor()
    text = "token: abcdefabcdef and url https://u:pw12345@example.org/"
    first = r.text(text)
    again = r.text(text)
    assert again is first and first[1] == {"url-credentials": 1, "secret-value": 1}
    # the counts are per occurrence: two outcomes with the same text count it twice each
    out, found = r.value([text, text])
    assert found == {"url-credentials": 2, "secret-value": 2}
    # another redactor (other rules) does not share the memory
    other = Redactor().with_literals([("sudo-password", "abcdefabcdef")])
    assert other.text(text)[1] == {"sudo-password": 1, "url-credentials": 1}
    # bounded: past MAX_CHARS it starts again from nothing
    monkeypatch.setattr(type(r._memo), "MAX_CHARS", 100)
    small = Redactor()
    small.text("a=" + "x" * 60)
    assert len(small._memo.texts) == 1
    small.text("b=" + "y" * 60)
    assert list(small._memo.texts) == ["b=" + "y" * 60] and small._memo.chars == 62


def test_redacting_leaves_no_garbage_for_the_cyclic_collector():
    """The walker refers to itself (it recurses); it is let go when value() returns, so a host's
    redaction is freed by reference counting, not left for the cyclic garbage collector."""
    import gc

    r = Redactor()
    gc.collect()
    gc.disable()
    try:
        for i in range(50):
            r.value({"a": [f"password={i}secret", {"b": ("x", f"token: {i}abc")}], "n": i})
        assert gc.collect() == 0
    finally:
        gc.enable()
