"""Deviations from the baseline: per-host/group parameter overrides that make a control less strict
than the library's default. Pure, no I/O.

Whether a value is less strict is decided by how the control uses the parameter:

* in an expectation (``{fact, op, param}``): ``at_most``/``age_at_most`` → a larger number or longer
  duration; ``at_least``/``age_at_least`` → a smaller one; ``mode_at_most`` → a mode with a permission
  bit the default lacks; ``one_of``/``subset_of``/``contains`` (an allowed set) → a value the default
  does not allow; ``none_of``/``not_contains`` (a forbidden set) → a default entry dropped;
* as a probe argument: a list whose name says it exempts or allows (``exempt_*``, ``allow*``,
  ``ignore*``, ``exclude*``, ``skip*``) → an entry added; one that requires or forbids
  (``required_*``, ``forbidden*``, ``strong_*``) → an entry dropped;
* anything else (a changed pattern, path, name or boolean) cannot be ordered: it is listed too, as a
  change whose strictness hardencheck cannot judge. A stricter value is never listed.
"""

from __future__ import annotations

from typing import Any, Iterable

from hardencheck.judge.expectations import ExpectationTypeError, parse_duration

_LOOSER_WHEN_ADDED = ("exempt", "allow", "ignore", "exclude", "skip", "approved")
_LOOSER_WHEN_DROPPED = ("required", "forbidden", "strong", "watch")


def _items(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _why_op(op: str, default: Any, value: Any) -> str | None:
    """Why ``value`` is looser than ``default`` for an expectation with ``op`` ("" if it is not;
    None when the operator gives no order)."""
    try:
        if op == "at_most":
            return f"allows more ({value} > {default})" if float(value) > float(default) else ""
        if op == "at_least":
            return f"requires less ({value} < {default})" if float(value) < float(default) else ""
        if op in ("age_at_most", "age_at_least"):
            a, b = parse_duration(default), parse_duration(value)
            if op == "age_at_most":
                return f"accepts older evidence ({value} instead of {default})" if b > a else ""
            return f"requires less age ({value} instead of {default})" if b < a else ""
        if op == "mode_at_most":
            extra = int(str(value), 8) & ~int(str(default), 8)
            return f"permits mode bits {extra:04o} the default does not" if extra else ""
    except (ValueError, TypeError, ExpectationTypeError):
        return None
    if op in ("one_of", "subset_of", "contains"):
        added = [x for x in _items(value) if x not in _items(default)]
        return f"also allows {', '.join(map(str, added))}" if added else ""
    if op in ("none_of", "not_contains"):
        dropped = [x for x in _items(default) if x not in _items(value)]
        return f"no longer forbids {', '.join(map(str, dropped))}" if dropped else ""
    return None


def _why_arg(name: str, default: Any, value: Any) -> str | None:
    if not isinstance(default, list) or not isinstance(value, list):
        return None
    low = name.lower()
    if any(w in low for w in _LOOSER_WHEN_ADDED):
        added = [x for x in value if x not in default]
        return f"adds {', '.join(map(str, added))}" if added else ""
    if any(w in low for w in _LOOSER_WHEN_DROPPED):
        dropped = [x for x in default if x not in value]
        return f"drops {', '.join(map(str, dropped))}" if dropped else ""
    return None


def loosening(control, param: str, value: Any) -> str | None:
    """Why overriding ``param`` with ``value`` makes ``control`` (a judge.controls.Control) less
    strict, or None when it does not (equal or stricter)."""
    default = control.params.get(param)
    if value == default:
        return None
    reasons, unknown = [], False
    uses = [e for group in (control.applies_if, control.valid_if, control.expect) for e in group
            if e.param == param]
    for e in uses:
        why = _why_op(e.op, default, value)
        if why is None:
            unknown = True
        elif why:
            reasons.append(f"{e.fact} {e.op}: {why}")
    for name, arg in control.args.items():
        if getattr(arg, "param", None) == param:
            why = _why_arg(param, default, value)
            if why is None:
                unknown = True
            elif why:
                reasons.append(f"probe argument {name}: {why}")
    if reasons:
        return "; ".join(reasons)
    if unknown or not uses:
        return "changed from the default; hardencheck cannot tell whether this is stricter"
    return None


def deviations(controls: dict, hosts: Iterable[Any]) -> list[dict[str, Any]]:
    """results.json's ``deviations``: ``controls`` maps id → Control; ``hosts`` have ``name`` and
    ``params`` (the inventory's merged group and host overrides)."""
    out = []
    for h in hosts:
        for cid, values in sorted((getattr(h, "params", None) or {}).items()):
            c = controls.get(cid)
            if c is None or not isinstance(values, dict):
                continue
            for param, value in values.items():
                why = loosening(c, param, value)
                if why:
                    out.append({"host": h.name, "control": cid, "param": param,
                                "default": _plain(c.params.get(param)), "value": _plain(value), "why": why})
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
