"""`hcterm bridge --port P [--port P2 …]`: readers over local HTTP/JSON and WebSocket.

Loopback only unless --allow-remote; writes, PIN and APDUs need the token (given with
--token or $HCTERM_BRIDGE_TOKEN, else generated and printed at start). Logs: JSON lines on
stderr. docs/bridge.md describes the API, the events and the QR verification options.
"""

import asyncio
import ipaddress
import os
import secrets
import signal
import sys


def register(subparsers):
    p = subparsers.add_parser("bridge", help="serve readers over HTTP/JSON + WebSocket "
                              "(national interface names) and an integrator page")
    p.add_argument("--port", action="append", required=True, metavar="PORT",
                   help="a reader's port (device path, pty, socket://host:port); repeat for "
                        "more readers (ids r1, r2, … in this order)")
    p.add_argument("--listen", default="127.0.0.1:8765", metavar="HOST:PORT",
                   help="address to serve on (default 127.0.0.1:8765; port 0: any free one)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --listen address other than loopback")
    p.add_argument("--token", default=os.environ.get("HCTERM_BRIDGE_TOKEN"),
                   help="bearer token for writes, PIN and APDUs (default: "
                        "$HCTERM_BRIDGE_TOKEN, else a new one, printed at start)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin (https://his.example) whose pages may open "
                        "/api/events; the bridge's own page always may")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per reader request")
    q = p.add_argument_group("electronic health card QR verification (docs/bridge.md)")
    q.add_argument("--qr-url", help="the platform's verify URL; without it QR events are "
                   "pushed unverified")
    q.add_argument("--org-code", default="", help="organisation code (terminal ID, first part)")
    q.add_argument("--department", default="0000", help="4-digit department code")
    q.add_argument("--city-code", default="", help="city (administrative division) code")
    q.add_argument("--hospital-code", default="", help="hospital code")
    q.add_argument("--channel-code", default="", help="channel code the platform assigned")
    q.add_argument("--care-step", default="010101", help="care-step code (诊疗环节)")
    q.add_argument("--app-id", help="envelope: app id (with --app-secret and --sm4-key)")
    q.add_argument("--app-secret", default=os.environ.get("HCTERM_QR_APP_SECRET"),
                   help="envelope: app secret (default $HCTERM_QR_APP_SECRET)")
    q.add_argument("--sm4-key", default=os.environ.get("HCTERM_QR_SM4_KEY"),
                   help="envelope: SM4 key, 32 hex digits (default $HCTERM_QR_SM4_KEY)")
    p.set_defaults(func=run)


def parse_listen(text, allow_remote):
    """'127.0.0.1:8765' -> (host, port); ValueError with what to do."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    if int(port) > 65535:
        raise ValueError(f"--listen {text!r}: port {int(port)} is out of range: use 1..65535 "
                         "(or 0 for any free port)")
    host = host.strip("[]")
    if not allow_remote and not _loopback(host):
        raise ValueError(f"--listen {text!r} is not a loopback address: the bridge serves "
                         "card data and takes writes, so it listens on 127.0.0.1 by default; "
                         "add --allow-remote to serve on other addresses (protect the "
                         "network, keep the token secret)")
    return host, int(port)


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _verifier(args):
    if not args.qr_url:
        return None
    from ..bridge.qrverify import HttpQRVerifier

    return HttpQRVerifier(args.qr_url, args.org_code, args.department, args.city_code,
                          args.hospital_code, args.channel_code, args.care_step,
                          app_id=args.app_id, app_secret=args.app_secret,
                          sm4_key=args.sm4_key, timeout=args.timeout)


def run(args):
    from ..bridge.qrverify import QRVerifyError

    try:
        host, port = parse_listen(args.listen, args.allow_remote)
        verifier = _verifier(args)
    except (ValueError, QRVerifyError) as error:
        print(f"hcterm bridge: {error}", file=sys.stderr)
        return 2
    token = args.token or secrets.token_urlsafe(24)
    try:
        asyncio.run(_serve(args, host, port, token, verifier))
    except OSError as error:
        print(f"hcterm bridge: cannot listen on {args.listen}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(args, host, port, token, verifier):
    from ..bridge.app import create_app, start_site

    app = create_app(args.port, token, verifier=verifier, timeout=args.timeout,
                     allow_origins=args.allow_origin)
    runner, url = await start_site(app, host, port)
    print(f"hcterm bridge: {url}/ (readers: {', '.join(args.port)})", flush=True)
    print(f"hcterm bridge: token for writes, PIN and APDUs: {token}"
          if not args.token else "hcterm bridge: token as given", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
