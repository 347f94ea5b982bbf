"""Validation of the reader's settings (reader.terminal.settings): imported when /config.json
is loaded and for each config-set, then let go.
"""

# read profiles a tap may use (names of reader.cards.healthcard.PROFILES whose items fit in one
# tap event of the host link)
PROFILES = ("identity", "issuer", "cardholder")
FLOWS = ("fast", "reference")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def check_all(settings, known):
    """ValueError saying what is wrong with the first bad one of `settings` ({name: value});
    `known`: the settings there are (their defaults)."""
    for name, value in settings.items():
        check(name, value, known)


def check(name, value, known):
    """ValueError saying what is wrong with setting `name` = `value`."""
    if name not in known:
        raise ValueError("unknown setting %r: the settings are %s"
                         % (name, ", ".join(sorted(known))))
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
