"""The reader's configuration: a few settings the host sets, kept in /config.json on the flash.

| name         | type | default | meaning                                               |
|--------------|------|---------|-------------------------------------------------------|
| terminal_id  | str  | ""      | the terminal's id: 1-32 of A-Z a-z 0-9 - _            |
| department   | str  | ""      | department code the reader serves (0-32 characters)   |
| read_profile | str  | "identity" | what a tap reads: identity, issuer, cardholder     |
|              |      |         | (reader.healthcard.PROFILES; docs/terminal-flow.md)   |
| beeper       | bool | true    | beep on taps and feedback requests                    |
| flow         | str  | "fast"  | tap flow: fast (reader.healthcard), or reference: the |
|              |      |         | naive vendor sequence (reader.reference_flow, for the |
|              |      |         | tap benchmark; SAM kept at 9600 baud)                 |
| heap_probe   | bool | false   | diagnostics: after each tap's read and its event, a   |
|              |      |         | gc.collect() and the live heap noted (info "terminal" |
|              |      |         | "heap_peak"; docs/bench-tap.md); costs a collection   |

`Config.set(changes)` validates every change before it stores any (ValueError names the bad
one) and writes the file through a temporary name, so a power cut leaves the old or the new
file, never half of one.
"""

import json
import os

PATH = "/config.json"
DEFAULTS = {"terminal_id": "", "department": "", "read_profile": "identity", "beeper": True,
            "flow": "fast", "heap_probe": False}
# read profiles a tap may use (names of reader.healthcard.PROFILES whose items fit in one
# tap event of the host link)
PROFILES = ("identity", "issuer", "cardholder")
FLOWS = ("fast", "reference")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _check(name, value):
    if name not in DEFAULTS:
        raise ValueError("unknown setting %r: the settings are %s"
                         % (name, ", ".join(sorted(DEFAULTS))))
    if name in ("beeper", "heap_probe"):
        if value is not True and value is not False:
            raise ValueError("%s must be true or false" % name)
    elif not isinstance(value, str):
        raise ValueError("%s must be text" % name)
    elif name == "terminal_id":
        if not 0 < len(value) <= 32 or any(c not in _ID_CHARS for c in value):
            raise ValueError("terminal_id must be 1-32 characters of A-Z a-z 0-9 - _")
    elif name == "department":
        if len(value) > 32:
            raise ValueError("department must be at most 32 characters")
    elif name == "read_profile" and value not in PROFILES:
        raise ValueError("read_profile must be one of %s" % ", ".join(PROFILES))
    elif name == "flow" and value not in FLOWS:
        raise ValueError("flow must be one of %s" % ", ".join(FLOWS))


class Config:
    def __init__(self, path=PATH):
        self.path = path
        self.values = dict(DEFAULTS)
        self.load_error = None
        try:
            with open(path) as f:
                stored = json.load(f)
            for name, value in stored.items():
                _check(name, value)
                self.values[name] = value
        except OSError:
            pass  # no file yet: the defaults
        except (ValueError, AttributeError) as error:
            # a damaged file: keep the defaults, say so in the device info
            self.values = dict(DEFAULTS)
            self.load_error = "%s is damaged (%s): defaults in use" % (path, error)

    def get(self, name):
        return self.values[name]

    def set(self, changes):
        """Apply {name: value} after checking all of them; store; return all values."""
        for name, value in changes.items():
            _check(name, value)
        values = dict(self.values)
        values.update(changes)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(values, f)
        os.rename(tmp, self.path)
        self.values = values
        self.load_error = None
        return dict(values)
