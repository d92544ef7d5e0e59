"""disk.smart: SMART overall health of every disk smartctl finds (``smartctl --scan``, then
``smartctl -H -j`` per device). Without smartmontools the fact is ``installed: false``."""

from __future__ import annotations

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, load_json
from hardencheck.collect.probes.base import Probe

MAX_DEVICES = 64


class DiskSmart(Probe):
    name = "disk.smart"
    summary = "SMART overall health per disk (smartctl --scan, smartctl -H -j); NVMe critical warnings"
    timeout = 120
    max_output_bytes = 1024 * 1024
    tools = {"smart": ("smartctl",)}
    commands = {
        "smart": (
            "command -v smartctl >/dev/null 2>&1 || { echo absent; exit 0; }; "
            "s=$(smartctl --scan 2>&1); printf 'scanrc\\t%s\\n' $?; "
            "printf '%s\\n' \"$s\" | head -n 64 | while read -r dev d type rest; do "
            "case $dev in /dev/*) ;; *) continue ;; esac; "
            "[ \"$d\" = -d ] || type=auto; "
            "printf 'dev\\t%s\\t%s\\n' \"$dev\" \"$type\"; "
            "o=$(smartctl -H -j -d \"$type\" \"$dev\" 2>&1); rc=$?; "
            "printf '%s\\n' \"$o\" | head -c 100000; printf '\\nend\\t%s\\n' $rc; done"
        ),
    }

    def parse(self, out, args):
        sec = complete_section(out, "smart", "smartctl", truncated="smartctl output truncated")
        lines = sec.stdout.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if lines == ["absent"]:
            return {"installed": False, "devices": [], "failing": [], "unknown": []}
        if not lines or not lines[0].startswith("scanrc\t"):
            raise ProbeError("unparsable", "smartctl: no scan result")
        devices, current, body = [], None, []
        for line in lines[1:]:
            if line.startswith("dev\t") and current is None:
                parts = line.split("\t")
                if len(parts) != 3:
                    raise ProbeError("unparsable", f"smartctl: bad device line {line[:80]!r}")
                current, body = (clean(parts[1], 200), clean(parts[2], 60)), []
            elif line.startswith("end\t") and current is not None:
                devices.append(self._device(current[0], current[1], "\n".join(body)))
                current = None
            elif current is not None:
                body.append(line)
            elif line.strip():
                raise ProbeError("unparsable", f"smartctl: unexpected line {line[:80]!r}")
        if current is not None:
            raise ProbeError("incomplete_output", f"smartctl: output ended while reading {current[0]}")
        if len(devices) > MAX_DEVICES:
            raise ProbeError("unparsable", "smartctl: too many devices")
        denied = [d for d in devices if d.pop("_denied")]
        if devices and len(denied) == len(devices):
            raise ProbeError("permission_denied", "smartctl could not open any disk (run as root)")
        failing = [f"{d['name']} ({d['type']})" for d in devices if d["passed"] is False
                   or (d["critical_warning"] or 0) > 0]
        unknown = [f"{d['name']} ({d['type']})" for d in devices if d["passed"] is None]
        return {"installed": True, "devices": devices, "failing": failing, "unknown": unknown}

    def _device(self, name: str, dtype: str, text: str) -> dict:
        doc = load_json(text, f"smartctl -H -j {name}") if text.strip().startswith("{") else None
        if not isinstance(doc, dict):
            doc = {}
        smart = doc.get("smartctl") if isinstance(doc.get("smartctl"), dict) else {}
        exit_status = smart.get("exit_status")
        exit_status = exit_status if isinstance(exit_status, int) and not isinstance(exit_status, bool) else None
        messages = smart.get("messages") if isinstance(smart.get("messages"), list) else []
        texts = [m.get("string") for m in messages if isinstance(m, dict) and isinstance(m.get("string"), str)]
        status = doc.get("smart_status") if isinstance(doc.get("smart_status"), dict) else {}
        passed = status.get("passed") if isinstance(status.get("passed"), bool) else None
        crit = None
        nvme = status.get("nvme")
        if isinstance(nvme, dict) and isinstance(nvme.get("value"), int):
            crit = nvme["value"]
        log = doc.get("nvme_smart_health_information_log")
        if isinstance(log, dict) and isinstance(log.get("critical_warning"), int):
            crit = log["critical_warning"]
        if passed is None and exit_status is not None and exit_status & 8:
            passed = False   # bit 3: "SMART status check returned DISK FAILING"
        model = doc.get("model_name") if isinstance(doc.get("model_name"), str) else None
        denied = passed is None and any("ermission denied" in t for t in texts + [text[:2000]])
        return {"name": name, "type": dtype, "model": clean(model, 100) if model else None,
                "passed": passed, "critical_warning": crit, "exit_status": exit_status,
                "message": clean(texts[0], 200) if texts and passed is None else None, "_denied": denied}
