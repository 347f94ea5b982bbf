"""The bridge's queue of audit events on the workstation's disk (SQLite, stdlib): an event
is stored before it is published and removed only once the broker acknowledged it (QoS 1
PUBACK), so a broker away, a network cut or a bridge restart loses none. An event whose
PUBACK was lost is sent again: the consumer drops it by its "id" (docs/fleet.md).
"""

import sqlite3
from pathlib import Path


class AuditQueue:
    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")   # WAL: safe against a process crash
        self.db.execute("CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY "
                        "AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL)")

    def put(self, topic, payload):
        self.db.execute("INSERT INTO audit (topic, payload) VALUES (?, ?)", (topic, payload))

    def oldest(self, n=100):
        """[(seq, topic, payload)] of the n oldest events."""
        return self.db.execute("SELECT seq, topic, payload FROM audit ORDER BY seq LIMIT ?",
                               (n,)).fetchall()

    def done(self, seqs):
        self.db.executemany("DELETE FROM audit WHERE seq = ?", [(s,) for s in seqs])

    def __len__(self):
        return self.db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]

    def close(self):
        self.db.close()
