"""Topic layout and payload formats of the fleet (docs/fleet.md is their description; its
examples are checked against these functions by tests/host/test_fleet.py).

    hc/{region}/blacklist/index                          retained  JSON  the region's versions
    hc/{region}/blacklist/snapshot                       retained  bytes the signed full list
    hc/{region}/blacklist/delta/{version}                retained  bytes a signed delta (last K)
    hc/{region}/hospital/{hospital}/bridge/{bridge}      retained  JSON  online (will: offline)
    hc/{region}/hospital/{hospital}/health/{bridge}/{reader}  retained  JSON  reader health
    hc/{region}/hospital/{hospital}/audit/{bridge}       QoS 1     JSON  one tap/scan/refusal

Every JSON payload has "v": PAYLOAD_VERSION; a consumer ignores members it does not know.
"""

import re

PREFIX = "hc"
PAYLOAD_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_name(kind, value):
    """A region, hospital, bridge or reader name: 1-64 of A-Z a-z 0-9 _ . - (no MQTT
    wildcard or level separator). ValueError saying so."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{kind} {value!r}: use 1 to 64 letters, digits, '_', '.' or '-' "
                         "(it is a level of the MQTT topics)")
    return value


def blacklist_index(region):
    return f"{PREFIX}/{region}/blacklist/index"


def blacklist_snapshot(region):
    return f"{PREFIX}/{region}/blacklist/snapshot"


def blacklist_delta(region, version):
    return f"{PREFIX}/{region}/blacklist/delta/{version}"


def blacklist_deltas(region):
    """The filter of all of a region's deltas."""
    return f"{PREFIX}/{region}/blacklist/delta/+"


def hospital_base(region, hospital):
    return f"{PREFIX}/{region}/hospital/{hospital}"


def bridge_state(region, hospital, bridge):
    return f"{hospital_base(region, hospital)}/bridge/{bridge}"


def health(region, hospital, bridge, reader):
    return f"{hospital_base(region, hospital)}/health/{bridge}/{reader}"


def audit(region, hospital, bridge):
    return f"{hospital_base(region, hospital)}/audit/{bridge}"


def parse(topic):
    """A fleet topic's parts: {"kind", "region", …} (kind: index, snapshot, delta, bridge,
    health, audit), or None for another topic."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != PREFIX:
        return None
    region = parts[1]
    if parts[2] == "blacklist":
        if parts[3:] == ["index"]:
            return {"kind": "index", "region": region}
        if parts[3:] == ["snapshot"]:
            return {"kind": "snapshot", "region": region}
        if len(parts) == 5 and parts[3] == "delta" and parts[4].isdigit():
            return {"kind": "delta", "region": region, "version": int(parts[4])}
        return None
    if parts[2] == "hospital" and len(parts) >= 6:
        out = {"kind": parts[4], "region": region, "hospital": parts[3], "bridge": parts[5]}
        if parts[4] == "health" and len(parts) == 7:
            return {**out, "reader": parts[6]}
        if parts[4] in ("bridge", "audit") and len(parts) == 6:
            return out
    return None
