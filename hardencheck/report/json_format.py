"""The canonical results.json itself (re-serialised, e.g. into another folder)."""

import json


def render(doc: dict, lang: str = "en") -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
