"""The reader's configuration: a few settings the host sets, kept in /config.json on the flash.

| name         | type | default | meaning                                               |
|--------------|------|---------|-------------------------------------------------------|
| terminal_id  | str  | ""      | the terminal's id: 1-32 of A-Z a-z 0-9 - _            |
| department   | str  | ""      | department code the reader serves (0-32 characters)   |
| read_profile | str  | "basic" | which card files a tap reads: basic, standard, full   |
| beeper       | bool | true    | beep on taps and feedback requests                    |

`Config.set(changes)` validates every change before it stores any (ValueError names the bad
one) and writes the file through a temporary name, so a power cut leaves the old or the new
file, never half of one.
"""

import json
import os

PATH = "/config.json"
DEFAULTS = {"terminal_id": "", "department": "", "read_profile": "basic", "beeper": True}
# read profile -> card files a tap reads (the terminal flow uses these)
PROFILES = {
    "basic": ("DDF1/EF05", "DDF1/EF06"),
    "standard": ("DDF1/EF05", "DDF1/EF06", "DDF1/EF08"),
    "full": ("DDF1/EF05", "DDF1/EF06", "DDF1/EF07", "DDF1/EF08", "DF01/EF05", "DF01/EF06",
             "DF02/EF05", "DF02/EF06", "DF02/EF07", "DF02/EF08"),
}
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _check(name, value):
    if name not in DEFAULTS:
        raise ValueError("unknown setting %r: the settings are %s"
                         % (name, ", ".join(sorted(DEFAULTS))))
    if name == "beeper":
        if value is not True and value is not False:
            raise ValueError("beeper must be true or false")
    elif not isinstance(value, str):
        raise ValueError("%s must be text" % name)
    elif name == "terminal_id":
        if not 0 < len(value) <= 32 or any(c not in _ID_CHARS for c in value):
            raise ValueError("terminal_id must be 1-32 characters of A-Z a-z 0-9 - _")
    elif name == "department":
        if len(value) > 32:
            raise ValueError("department must be at most 32 characters")
    elif name == "read_profile" and value not in PROFILES:
        raise ValueError("read_profile must be one of %s" % ", ".join(sorted(PROFILES)))


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
