"""The reader's configuration: a few settings the host sets, kept in /config.json on the flash.

| name         | type | default | meaning                                               |
|--------------|------|---------|-------------------------------------------------------|
| terminal_id  | str  | ""      | the terminal's id: 1-32 of A-Z a-z 0-9 - _            |
| department   | str  | ""      | department code the reader serves (0-32 characters)   |
| read_profile | str  | "identity" | what a tap reads: identity, issuer, cardholder     |
|              |      |         | (reader.cards.healthcard.PROFILES; terminal-flow.md)  |
| beeper       | bool | true    | beep on taps and feedback requests                    |
| flow         | str  | "fast"  | tap flow: fast (reader.cards.healthcard), or          |
|              |      |         | reference: the naive vendor sequence                  |
|              |      |         | (reader.cards.vendor_flow, for the tap benchmark;     |
|              |      |         | SAM kept at 9600 baud)                                |
| heap_probe   | bool | false   | diagnostics: after each tap's read and its event and  |
|              |      |         | each host card request, a gc.collect() and the live   |
|              |      |         | heap noted (info "terminal" "heap_peak";              |
|              |      |         | docs/bench-tap.md); costs a collection                |
| host_slot_idle_s | int | 30    | a slot the host powered (card or SAM) is ended       |
|              |      |         | after this many seconds (1-3600) without an APDU, so  |
|              |      |         | the terminal polls for taps again (docs/host-link.md) |
| unchecked_expiry | str | "accept" | a card tapped while the reader's clock is not set  |
|              |      |         | (no set-time since boot): "accept" it with            |
|              |      |         | expiry_checked false in the event, or "refuse" it     |
|              |      |         | (reason clock_not_set)                                |
| blacklist_key | str | ""      | the blacklist platform's SM2 public key (128 hex: x,  |
|              |      |         | y); lists are refused until it is set (provisioned at |
|              |      |         | manufacturing; never a private key)                   |
| blacklist_max_age_h | int | 168 | a list issued longer ago (hours, 1-8760) is stale:  |
|              |      |         | self-test and every tap event say blacklist_stale     |
| stale_blacklist | str | "accept" | a tap while the list is stale: "accept" it with    |
|              |      |         | blacklist_stale true, or "refuse" it (reason          |
|              |      |         | blacklist_stale)                                      |
| power_save   | str  | "auto"  | low-power polling between taps: "on", "off", or       |
|              |      |         | "auto" (the board's LOW_POWER_POLL: the handhelds);   |
|              |      |         | reader.terminal.power, docs/handheld.md               |
| detect_ms    | int  | 250     | with low-power polling: the chip sleeps this long     |
|              |      |         | (50-2000 ms) between polls, so a card is found within |
|              |      |         | it plus one poll                                      |
| journal_max  | int  | 1000    | tap and QR events the offline journal keeps while the |
|              |      |         | host link is down (10-10000; docs/tap-journal.md)     |
| journal_full | str  | "refuse" | the journal is full: "refuse" the tap (reason        |
|              |      |         | journal_full, shown as a refusal), or "drop_oldest"   |
|              |      |         | (the oldest event waiting is lost, counted)           |
| display_id_mask | str | "4-4" | boards with a display: the ID number on the patient   |
|              |      |         | screen, "F-L" first F and last L characters shown     |
|              |      |         | (4101**********4213), "full", or "hidden"             |

The settings are a plain dict the session keeps (`session.config`); this module is transient:
imported to load them at start and to store a change, then let go.

    values, error = reader.call("terminal.settings", "load", path)   # error: why the stored
                                                                     # file was not used
    reader.call("terminal.settings", "store", path, values, changes)

`store` checks every change before it stores any (blacklist_key is set once: provisioned,
then a host cannot change it) (ValueError names the bad one), replaces the file in one step
(reader.terminal.atomic_file: a flash too full is refused before it is touched, a power cut
leaves the old or the new file, the boot removes what a cut left), then updates `values` in
place (whoever holds the dict sees the change).
"""

import json

PATH = "/config.json"
DEFAULTS = {"terminal_id": "", "department": "", "read_profile": "identity", "beeper": True,
            "flow": "fast", "heap_probe": False, "host_slot_idle_s": 30,
            "unchecked_expiry": "accept", "blacklist_key": "", "blacklist_max_age_h": 168,
            "stale_blacklist": "accept", "power_save": "auto", "detect_ms": 250,
            "journal_max": 1000, "journal_full": "refuse",
            "display_id_mask": "4-4"}


def load(path=PATH):
    """-> (values, error): the stored settings over the defaults; a damaged file gives the
    defaults and says so in `error` (None otherwise, also when there is no file yet)."""
    values = dict(DEFAULTS)
    try:
        with open(path) as f:
            stored = json.load(f)
        check(stored)
    except OSError:
        return values, None          # no file yet: the defaults
    except (ValueError, AttributeError) as error:
        return values, "%s is damaged (%s): defaults in use" % (path, error)
    values.update(stored)
    return values, None


def store(path, values, changes):
    """Check `changes` ({name: value}), write `values` with them to `path`, then apply them to
    `values`; returns `values`. ValueError (a bad change) or OSError (the flash) changes
    nothing."""
    check(changes)
    key = values.get("blacklist_key")
    if key and changes.get("blacklist_key", key) != key:
        raise ValueError("blacklist_key is provisioned: a host cannot change it (that would let "
                         "any program install its own list); re-provision the reader's "
                         "configuration to change it")
    new = dict(values)
    new.update(changes)
    from reader import call

    call("terminal.atomic_file", "replace", path, json.dumps(new).encode())
    values.update(changes)
    return values


# read profiles a tap may use (names of reader.cards.healthcard.PROFILES whose items fit in one
# tap event of the host link); the other choices are literals in check_one (a module global
# is one more name interned in the virtual reader's qstr pool: docs/firmware-memory.md)
PROFILES = ("identity", "issuer", "cardholder")


def check(settings):
    """ValueError saying what is wrong with the first bad one of `settings` ({name: value})."""
    for name, value in settings.items():
        check_one(name, value)


def check_one(name, value):
    """ValueError saying what is wrong with setting `name` = `value`."""
    if name not in DEFAULTS:
        raise ValueError("unknown setting %r: the settings are %s"
                         % (name, ", ".join(sorted(DEFAULTS))))
    if name in ("beeper", "heap_probe"):
        if value is not True and value is not False:
            raise ValueError("%s must be true or false" % name)
    elif name == "host_slot_idle_s":
        if not isinstance(value, int) or value is True or value is False \
                or not 1 <= value <= 3600:
            raise ValueError("host_slot_idle_s must be a whole number of seconds, 1-3600")
    elif name == "detect_ms":
        if not isinstance(value, int) or value is True or value is False \
                or not 50 <= value <= 2000:
            raise ValueError("detect_ms must be a whole number of milliseconds, 50-2000")
    elif name == "blacklist_max_age_h":
        if not isinstance(value, int) or value is True or value is False \
                or not 1 <= value <= 8760:
            raise ValueError("blacklist_max_age_h must be a whole number of hours, 1-8760")
    elif name == "journal_max":
        if not isinstance(value, int) or value is True or value is False \
                or not 10 <= value <= 10000:
            raise ValueError("journal_max must be a whole number of events, 10-10000 (what "
                             "the reader keeps on its flash while the host link is down)")
    elif not isinstance(value, str):
        raise ValueError("%s must be text" % name)
    elif name == "terminal_id":           # "" (the default): not given yet
        if len(value) > 32 or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-_" for c in value):
            raise ValueError("terminal_id must be 1-32 characters of A-Z a-z 0-9 - _, or "
                             "empty")
    elif name == "department":
        if len(value) > 32:
            raise ValueError("department must be at most 32 characters")
    elif name == "read_profile" and value not in PROFILES:
        raise ValueError("read_profile must be one of %s" % ", ".join(PROFILES))
    elif name == "flow" and value not in ("fast", "reference"):
        raise ValueError("flow must be one of fast, reference")
    elif name == "power_save" and value not in ("auto", "on", "off"):
        raise ValueError("power_save must be one of auto, on, off")
    elif name in ("unchecked_expiry", "stale_blacklist") and value not in ("accept", "refuse"):
        raise ValueError("%s must be one of accept, refuse" % name)
    elif name == "journal_full" and value not in ("refuse", "drop_oldest"):
        raise ValueError("%s must be one of %s" % (name, "refuse, drop_oldest"))
    elif name == "display_id_mask" and value not in ("full", "hidden") and not (
            len(value) == 3 and value[1] == "-" and value[0] in "0123456789"
            and value[2] in "0123456789"):
        raise ValueError("display_id_mask must be F-L (the first F and last L characters "
                         "shown, 0-9 each: 4-4), full or hidden")
    elif name == "blacklist_key" and value and (
            len(value) != 128 or any(c not in "0123456789abcdefABCDEF" for c in value)):
        raise ValueError("blacklist_key must be the platform's SM2 public key, 128 hex "
                         "characters (x then y), or empty")
