"""The attestations of organisational measures in the HTML report (``templates/attestation.html.j2``,
shown in each measure of the TOM view): statement, owner, who attested it and when, how long it is
valid and whether it was valid on the scan's date, and every document with its SHA-256 and status
(ok, MISSING, CHANGED), or, for a document by URL, the SHA-256 as the attestation gives it.

Every string of an attestation is hostile (the file is the site's, but a statement may be pasted
from anywhere): the template prints it with the ``t`` macro (autoescaped, control and bidi
characters as visible escapes). The words are here in English and German; statuses and states come
from ``report.i18n``.
"""

from __future__ import annotations

from typing import Any

from hardencheck.report import i18n
from hardencheck.report.view import ReportView

WORDS = {
    "en": {"title": "Attestation", "statement": "Statement", "owner": "Owner", "attested_by": "Attested by",
           "date": "Date", "valid_until": "Valid until", "state": "On the scan's date ({d})", "groups": "Host groups",
           "documents": "Documents", "none": "no document", "given": "SHA-256 as given (not fetched)",
           "expected": "attested version", "bundle_copy": "copy in the bundle", "file": "Attestation file"},
    "de": {"title": "Bestätigung", "statement": "Aussage", "owner": "Verantwortlich", "attested_by": "Bestätigt von",
           "date": "Datum", "valid_until": "Gültig bis", "state": "Am Prüfdatum ({d})", "groups": "Servergruppen",
           "documents": "Dokumente", "none": "kein Dokument", "given": "SHA-256 wie angegeben (nicht abgerufen)",
           "expected": "bestätigte Fassung", "bundle_copy": "Kopie im Bundle", "file": "Bestätigungsdatei"},
}


def _text(v: Any) -> str:
    return "—" if v is None or v == "" else str(v)


def attestation_context(view: ReportView, lang: str) -> dict[str, Any]:
    """{"by_measure": measure id -> [entry for the template]}, the words and the file's identity."""
    block = view.doc.get("attestations") or {}
    by_measure: dict[str, list[dict[str, Any]]] = {}
    for e in view.attestations:
        docs = [{"name": _text(d.get("path") or d.get("url")), "sha256": _text(d.get("sha256")),
                 "status": str(d.get("status")), "word": i18n.word(i18n.DOCUMENT_STATUS, d.get("status"), lang),
                 "given": "url" in d, "expected": d.get("expected_sha256"), "bundle_path": d.get("copy"),
                 "message": d.get("message")}
                for d in e.get("evidence") or [] if isinstance(d, dict)]
        by_measure.setdefault(str(e.get("measure")), []).append({
            "statement": _text(e.get("statement")), "owner": _text(e.get("owner")),
            "attested_by": _text(e.get("attested_by")), "date": _text(e.get("date")),
            "valid_until": _text(e.get("valid_until")), "groups": ", ".join(map(str, e.get("groups") or [])),
            "state": str(e.get("state")), "state_word": i18n.word(i18n.ATTESTATION_STATE, e.get("state"), lang),
            "documents": docs})
    file = block.get("file") or {}
    return {"by_measure": by_measure, "A": WORDS.get(lang, WORDS["en"]), "date": _text(block.get("date")),
            "file": {"path": _text(file.get("path")), "sha256": _text(file.get("sha256"))} if file else None}
