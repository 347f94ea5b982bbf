"""The fleet: bridges and the card management platform on an MQTT broker (docs/fleet.md).

topics:   the topic layout and the payload formats (one place)
mqtt:     broker URLs, TLS and credentials, a client that reports a refused publish
auditq:   the bridge's disk queue of audit events (SQLite)
bridge:   FleetBridge, the bridge's MQTT side (blacklists, tap audit, reader health)
platform: the platform's side (publish a signed blacklist, watch the fleet)
"""
