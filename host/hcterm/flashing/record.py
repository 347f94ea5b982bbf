"""The manufacturing record: one row per device flashed (or not), appended to a CSV file and
a JSON-lines file (docs/flashing.md, "The manufacturing record")."""

import csv
import json
import threading
from pathlib import Path

FIELDS = ("time", "operator", "port", "unique_id", "board", "firmware", "firmware_hash",
          "sam_serial", "sam_terminal_number", "terminal_id", "department", "selftest",
          "acceptance", "result", "reason", "seconds", "acceptance_checks")
CSV_NAME = "flash-records.csv"
JSONL_NAME = "flash-records.jsonl"
_lock = threading.Lock()


def row(result, operator, when):
    """The record of one device from flash_device's result (or a failure's fields)."""
    out = {k: result.get(k) for k in FIELDS}
    out.update(time=when, operator=operator)
    ok = result.get("selftest_ok")
    out["selftest"] = "ok" if ok else ("failed" if ok is False else "not run")
    out["acceptance"] = result.get("acceptance") or "not run"
    out["acceptance_checks"] = result.get("acceptance_checks") or ""
    return out


def append(folder, record):
    """Append `record` to both files in `folder` (made if missing); the CSV gets its header
    when it is new."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _lock:
        path = folder / CSV_NAME
        new = not path.exists() or path.stat().st_size == 0
        # a file begun by an older hcterm keeps its columns (the JSON lines have them all)
        fields = FIELDS if new else _header(path)
        with path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({k: "" if record.get(k) is None else record[k] for k in fields})
        with (folder / JSONL_NAME).open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def _header(path):
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f), None) or list(FIELDS)
