"""The reader's configuration: a few settings the host sets, kept in /config.json on the flash.

| name         | type | default | meaning                                               |
|--------------|------|---------|-------------------------------------------------------|
| terminal_id  | str  | ""      | the terminal's id: 1-32 of A-Z a-z 0-9 - _            |
| department   | str  | ""      | department code the reader serves (0-32 characters)   |
| read_profile | str  | "identity" | what a tap reads: identity, issuer, cardholder     |
|              |      |         | (reader.cards.healthcard.PROFILES; docs/terminal-flow.md)   |
| beeper       | bool | true    | beep on taps and feedback requests                    |
| flow         | str  | "fast"  | tap flow: fast (reader.cards.healthcard), or reference: the |
|              |      |         | naive vendor sequence (reader.cards.vendor_flow, for the |
|              |      |         | tap benchmark; SAM kept at 9600 baud)                 |
| heap_probe   | bool | false   | diagnostics: after each tap's read and its event and  |
|              |      |         | each host card request, a gc.collect() and the live   |
|              |      |         | heap noted (info "terminal" "heap_peak";              |
|              |      |         | docs/bench-tap.md); costs a collection                |

`Config.set(changes)` validates every change (reader.terminal.settings_check) before it stores any
(ValueError names the bad one) and writes the file through a temporary name, so a power cut
leaves the old or the new file, never half of one.
"""

import json
import os

import reader

PATH = "/config.json"
DEFAULTS = {"terminal_id": "", "department": "", "read_profile": "identity", "beeper": True,
            "flow": "fast", "heap_probe": False}


class Config:
    def __init__(self, path=PATH):
        self.path = path
        self.values = dict(DEFAULTS)
        self.load_error = None
        try:
            with open(path) as f:
                stored = json.load(f)
            self._check(stored)
            for name, value in stored.items():
                self.values[name] = value
        except OSError:
            pass  # no file yet: the defaults
        except (ValueError, AttributeError) as error:
            # a damaged file: keep the defaults, say so in the device info
            self.values = dict(DEFAULTS)
            self.load_error = "%s is damaged (%s): defaults in use" % (path, error)

    def get(self, name):
        return self.values[name]

    @staticmethod
    def _check(settings):
        """ValueError naming the first bad setting (reader.terminal.settings_check, in RAM
        for the check only: settings change rarely)."""
        reader.call("terminal.settings_check", "check_all", settings, DEFAULTS)

    def set(self, changes):
        """Apply {name: value} after checking all of them; store; return all values."""
        self._check(changes)
        values = dict(self.values)
        values.update(changes)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(values, f)
        os.rename(tmp, self.path)
        self.values = values
        self.load_error = None
        return dict(values)
