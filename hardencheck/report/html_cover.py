"""Two lines of the run report's cover that must never print ``None``: the exit code with its meaning, and
who vouches for the bundle (its manifest signature).

The signature is known only outside the bundle: the report a scan writes is listed in the manifest, so it
is written before the manifest is signed. The cover shows, in this order, what is known:
``view.signature`` (``{"status": good|unchecked|unsigned|bad, "by": …}``, ``records.verify``'s
``BundleCheck.signatures`` entry, set by a caller that rendered from a checked bundle), else
``run.signing`` of results.json (``{"key": …}``: the key the scan was told to sign with), else a sentence
saying where the answer is (``hardencheck verify``'s first line).
"""

from __future__ import annotations

from typing import Any

from hardencheck.report.i18n_html import Lang

S: dict[str, dict[str, str]] = {
    "signature": {"en": "Signature of the bundle", "de": "Signatur des Prüfpakets"},
    "sig_good": {"en": "signed by {by} (an allowed signer)", "de": "signiert von {by} (zugelassener Unterzeichner)"},
    "sig_unchecked": {"en": "signed by {by}; not checked against any allowed signers",
                      "de": "signiert von {by}; gegen keine Liste zugelassener Unterzeichner geprüft"},
    "sig_unsigned": {"en": "unsigned: nothing vouches for who wrote this bundle",
                     "de": "unsigniert: nichts belegt, wer dieses Prüfpaket geschrieben hat"},
    "sig_bad": {"en": "BAD SIGNATURE: the signature does not match, or the signer is not allowed",
                "de": "UNGÜLTIGE SIGNATUR: die Signatur passt nicht, oder der Unterzeichner ist nicht zugelassen"},
    "sig_key": {"en": "to be signed with {by} by the scan (manifest.json.sig); check it with hardencheck verify",
                "de": "von der Prüfung mit {by} zu signieren (manifest.json.sig); prüfen mit hardencheck verify"},
    "sig_unknown": {"en": "not stated in this report (it is part of the bundle and was written before the manifest "
                          "was signed): hardencheck verify says in its first line whether the bundle is signed, "
                          "and by whom",
                    "de": "in diesem Bericht nicht angegeben (er gehört zum Prüfpaket und entstand, bevor das "
                          "Manifest signiert wurde): hardencheck verify nennt in der ersten Zeile, ob und von wem "
                          "das Prüfpaket signiert ist"},
    "exit_none": {"en": "none: the scan did not finish (killed); its hosts that finished are reported",
                  "de": "keiner: die Prüfung endete nicht (abgebrochen); berichtet werden die fertigen Server"},
}


def _s(key: str, lang: str, **kw: Any) -> str:
    return S[key][lang].format(**kw)


def signature_line(view: Any, lang: str) -> dict[str, str]:
    """{"status": good|unchecked|unsigned|bad|key|unknown, "text": the sentence} for the cover."""
    sig = getattr(view, "signature", None)
    if isinstance(sig, dict) and sig.get("status") in ("good", "unchecked", "unsigned", "bad"):
        st = sig["status"]
        return {"status": st, "text": _s(f"sig_{st}", lang, by=sig.get("by") or "?")}
    signing = ((view.doc.get("run") or {}).get("signing") or {}) if isinstance(view.doc, dict) else {}
    if isinstance(signing, dict) and signing.get("key"):
        return {"status": "key", "text": _s("sig_key", lang, by=str(signing["key"]))}
    return {"status": "unknown", "text": _s("sig_unknown", lang)}


def exit_line(exit_code: Any, meaning: str, L: Lang) -> str:
    """``1 (failures at or above 'high')``; a run that never finished has no exit code: said so."""
    if exit_code is None:
        return _s("exit_none", L.lang)
    return f"{exit_code} ({meaning})" if meaning else str(exit_code)


def cover_context(view: Any, exit_code: Any, meaning: str, L: Lang) -> dict[str, Any]:
    return {"signature": signature_line(view, L.lang), "signature_label": _s("signature", L.lang),
            "exit_line": exit_line(exit_code, meaning, L)}
