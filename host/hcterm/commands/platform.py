"""`hcterm platform publish-blacklist|watch`: the card management platform's side of the
fleet on an MQTT broker (docs/fleet.md).

    hcterm platform publish-blacklist --mqtt mqtt://broker --region 4101 --key platform.key \\
        --list revoked.txt            # next version: snapshot + delta from the last one
    hcterm platform publish-blacklist --mqtt … --region 4101 --delta d8.bin   # signed already
    hcterm platform watch --mqtt mqtt://broker [--json] [--duration S]

Errors say what failed and exit 1 (2 for bad arguments).
"""

import asyncio
import json
import sys
import time

from .argtypes import positive_int
from .bridge import add_broker_arguments


def register(subparsers):
    p = subparsers.add_parser("platform", help="the card management platform on the fleet's "
                              "MQTT broker: publish signed blacklists, watch the readers")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    b = sub.add_parser("publish-blacklist", help="sign and publish a region's blacklist: the "
                       "retained snapshot and a delta from the previous one")
    add_broker_arguments(b)
    b.add_argument("--region", required=True, help="the region (its bridges subscribe to it)")
    b.add_argument("--key", help="the platform's SM2 private key file (hcterm blacklist "
                   "keygen); needed with --list")
    what = b.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", metavar="FILE", help="the whole new list: text or CSV (one "
                      "ID number or eHC ID a line) or a list file")
    what.add_argument("--delta", metavar="FILE", help="a signed delta file (hcterm blacklist "
                      "delta, sign) from the region's current version")
    b.add_argument("--version", type=positive_int, help="the new version (default: the "
                   "region's + 1)")
    b.add_argument("--keep", type=positive_int, default=8, help="deltas kept retained (a "
                   "bridge that many versions behind still gets deltas; default 8)")
    b.add_argument("--expires-days", type=positive_int, help="readers refuse the list after "
                   "this many days (default: never)")
    b.add_argument("--json", action="store_true", help="one JSON object")
    b.set_defaults(func=_guard(run_publish))

    w = sub.add_parser("watch", help="reader health and the tap rate per hospital, from the "
                       "broker")
    add_broker_arguments(w)
    w.add_argument("--interval", type=float, default=5.0, help="seconds between reports")
    w.add_argument("--duration", type=float, help="stop after this many seconds")
    w.add_argument("--json", action="store_true", help="one JSON object per report")
    w.set_defaults(func=_guard(run_watch))


def _say(args, message):
    print(f"hcterm platform {args.action}: {message}", file=sys.stderr)


def _guard(func):
    def run(args):
        import aiomqtt

        from .. import blacklist_files as bf
        from ..fleet.mqtt import BrokerError, BrokerOptions, describe_error
        from ..fleet.platform import PlatformError
        from ..platform_signing import KeyFileError

        try:
            options = BrokerOptions.make(args.mqtt, args.mqtt_ca, args.mqtt_user,
                                         args.mqtt_password_file)
        except BrokerError as error:
            _say(args, error)
            return 2
        try:
            return func(args, options)
        except (bf.ListError, KeyFileError) as error:
            _say(args, error)
            return 2
        except (PlatformError, BrokerError) as error:
            _say(args, error)
            return 1
        except (aiomqtt.MqttError, OSError) as error:
            _say(args, describe_error(error, options).replace(" (retrying)", ""))
            return 1
    return run


def run_publish(args, options):
    from ..fleet.platform import publish_blacklist
    from ..platform_signing import load_private_key
    from .blacklist import _entries, _read_bytes

    key = load_private_key(args.key) if args.key else None
    entries = delta = None
    if args.list:
        if key is None:
            _say(args, "--list needs --key (the platform's private key signs the list)")
            return 2
        entries = _entries(args.list)
    else:
        delta = _read_bytes(args.delta, "delta")
    expires = int(time.time()) + 86400 * args.expires_days if args.expires_days else 0
    out = asyncio.run(publish_blacklist(options, args.region, key, entries=entries,
                                        delta=delta, version=args.version, keep=args.keep,
                                        expires=expires))
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        parts = [f"region {out['region']}: version {out['version']} published "
                 f"({out['count']} ID numbers)"]
        if "snapshot_bytes" in out:
            parts.append(f"snapshot {out['snapshot_bytes']} bytes")
        if "delta_bytes" in out:
            parts.append(f"delta from {out['previous']} {out['delta_bytes']} bytes")
        parts.append(f"deltas kept: {', '.join(map(str, out['deltas'])) or 'none'}")
        print("; ".join(parts))
    return 0


def run_watch(args, options):
    from ..fleet.platform import Watcher

    async def watch():
        import uuid

        watcher = Watcher()
        async with options.client(f"hcterm-watch-{uuid.uuid4().hex[:8]}") as client:
            await watcher.subscribe(client)
            start = last = time.monotonic()

            async def reports():
                nonlocal last
                while True:
                    await asyncio.sleep(args.interval)
                    _report(args, watcher)
                    last = time.monotonic()

            task = asyncio.get_running_loop().create_task(reports())
            try:
                async with asyncio.timeout(args.duration):
                    async for message in client.messages:
                        watcher.feed(str(message.topic), bytes(message.payload or b""))
            except TimeoutError:
                pass
            finally:
                task.cancel()
            if time.monotonic() - last > 0.1 or last == start:
                _report(args, watcher)

    asyncio.run(watch())
    return 0


def _report(args, watcher):
    summary = watcher.summary()
    if args.json:
        print(json.dumps({"time": round(time.time(), 3), "hospitals": summary,
                          "audit_duplicates_dropped": watcher.duplicates}, sort_keys=True),
              flush=True)
        return
    print(time.strftime("%H:%M:%S"), flush=True)
    if not summary:
        print("  no bridge has reported yet", flush=True)
    for name, h in sorted(summary.items()):
        versions = ", ".join(f"v{v}: {n}" for v, n in sorted(h["blacklist_versions"].items()))
        print(f"  {name}: bridges {h['bridges_online']}/{h['bridges']} online, readers "
              f"{h['readers_connected']}/{h['readers']} connected, stale {h['stale']}, "
              f"self-test failed {h['selftest_failed']}, blacklist {versions or '-'}, "
              f"{h['taps_per_min']} taps/min", flush=True)
