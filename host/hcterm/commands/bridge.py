"""`hcterm bridge --port P [--port P2 …]`: readers over local HTTP/JSON and WebSocket.

Loopback only unless --allow-remote; writes, PIN and APDUs need the token (given with
--token or $HCTERM_BRIDGE_TOKEN, else kept in the token file, created with a new random token
and mode 0600 the first time: see `token_file`). Logs: JSON lines on stderr. docs/bridge.md
describes the API, the events and the QR verification options.
"""

import asyncio
import ipaddress
import os
import secrets
import signal
import stat
import sys
from pathlib import Path


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
                        "$HCTERM_BRIDGE_TOKEN, else the one in the token file)")
    p.add_argument("--token-file", default=None, metavar="PATH",
                   help="where the token is kept when --token is not given (default: "
                        "$HCTERM_BRIDGE_TOKEN_FILE, else $XDG_CONFIG_HOME/hcterm/bridge-token, "
                        "else ~/.config/hcterm/bridge-token); created with a new random token "
                        "and mode 0600 if missing")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin (https://his.example) whose pages may call the API "
                        "and open /api/events (CORS); the bridge's own page always may")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                   help="a name (and port, default the bridge's) clients may address the "
                        "bridge by in Host, besides 127.0.0.1, localhost, [::1] and the "
                        "listen address: requests to any other are refused (DNS rebinding)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per reader request")
    p.add_argument("--negative-ret", action="store_true",
                   help='national routes answer "ret" in the -1 … -8 convention instead of '
                        "101 … 113 (docs/bridge.md, Return codes)")
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
    add_fleet_arguments(p)
    p.set_defaults(func=run)


def add_broker_arguments(p, required=True):
    """--mqtt URL, --mqtt-ca, --mqtt-user, --mqtt-password-file (the bridge, hcterm platform)."""
    p.add_argument("--mqtt", required=required, metavar="URL",
                   help="the fleet's MQTT broker: mqtt://HOST[:1883] or mqtts://HOST[:8883] "
                        "(TLS) (docs/fleet.md)")
    p.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate (PEM) that signed the "
                   "broker's certificate: TLS, the broker's name checked")
    p.add_argument("--mqtt-user", metavar="USER", help="the broker's user name")
    p.add_argument("--mqtt-password-file", metavar="FILE", help="a file (mode 0600) holding "
                   "the user's password")


def add_fleet_arguments(p):
    m = p.add_argument_group("fleet: blacklists, tap audit and reader health on an MQTT "
                             "broker (docs/fleet.md)")
    add_broker_arguments(m, required=False)
    m.add_argument("--region", help="the region whose blacklists the readers hold (with "
                   "--mqtt)")
    m.add_argument("--hospital", help="this hospital's code (with --mqtt; its credentials "
                   "allow its own topics only)")
    m.add_argument("--bridge-id", help="this bridge's name in the hospital (default: the "
                   "host name)")
    m.add_argument("--audit-queue", metavar="FILE", help="the disk queue of audit events "
                   "not yet acknowledged by the broker (default: $XDG_STATE_HOME/hcterm/"
                   "audit-HOSPITAL-BRIDGE.sqlite, else ~/.local/state/…)")
    m.add_argument("--audit-key-file", metavar="FILE", help="the hospital's secret key for "
                   "the audit's keyed hash of ID numbers (HMAC-SHA256); without it they are "
                   "masked (first 6 and last 4 digits)")


def fleet_settings(args):
    """FleetSettings from the bridge's --mqtt options, or None without --mqtt; ValueError
    (with what to do) for a bad combination."""
    if not args.mqtt:
        for name in ("region", "hospital", "mqtt_ca", "mqtt_user", "audit_key_file"):
            if getattr(args, name):
                raise ValueError(f"--{name.replace('_', '-')} is for the fleet: give --mqtt "
                                 "URL too")
        return None
    import socket

    from ..fleet.bridge import FleetSettings
    from ..fleet.mqtt import BrokerError, BrokerOptions

    if not args.region or not args.hospital:
        raise ValueError("--mqtt needs --region R and --hospital H (the topics of this "
                         "bridge: docs/fleet.md)")
    try:
        broker = BrokerOptions.make(args.mqtt, args.mqtt_ca, args.mqtt_user,
                                    args.mqtt_password_file)
    except BrokerError as error:
        raise ValueError(str(error)) from None
    bridge = args.bridge_id or socket.gethostname().split(".")[0]
    key = None
    if args.audit_key_file:
        try:
            key = Path(args.audit_key_file).read_bytes().strip()
        except OSError as error:
            raise ValueError(f"--audit-key-file {args.audit_key_file}: {error.strerror}") \
                from None
        if len(key) < 16:
            raise ValueError(f"--audit-key-file {args.audit_key_file}: under 16 bytes; use a "
                             "random key (e.g. 'openssl rand -hex 32 > FILE')")
    queue = args.audit_queue
    if not queue:
        state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        queue = Path(state) / "hcterm" / f"audit-{args.hospital}-{bridge}.sqlite"
    return FleetSettings(broker, args.region, args.hospital, bridge, str(queue), key)


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


def token_file(given=None):
    """The token file's path: `given` (--token-file), else $HCTERM_BRIDGE_TOKEN_FILE, else
    $XDG_CONFIG_HOME/hcterm/bridge-token, else ~/.config/hcterm/bridge-token."""
    if given or os.environ.get("HCTERM_BRIDGE_TOKEN_FILE"):
        return Path(given or os.environ["HCTERM_BRIDGE_TOKEN_FILE"]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "hcterm" / "bridge-token"


def load_token(path):
    """(token, created): the token in `path`, or a new random one written there with mode
    0600 (its folder 0700 if new). ValueError with what to do when the file is readable or
    writable by others, not the user's, or empty."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        token = secrets.token_urlsafe(24)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another bridge made it just now: use that one
            return load_token(path)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return token, True
    except OSError as error:
        raise ValueError(f"cannot read the token file {path}: {error.strerror}; fix it or "
                         "give another with --token-file") from None
    with os.fdopen(fd) as f:
        info = os.fstat(f.fileno())
        if info.st_uid != os.getuid():
            raise ValueError(f"the token file {path} is not yours: delete it (a new token is "
                             "made at the next start) or give another with --token-file")
        if info.st_mode & 0o077:
            raise ValueError(f"the token file {path} is open to others (mode "
                             f"{stat.S_IMODE(info.st_mode):04o}), so its token may be known: "
                             f"delete it (a new token is made at the next start), or if "
                             f"nobody else read it, 'chmod 600 {path}'")
        token = f.read().strip()
    if not token or len(token.split()) != 1:
        raise ValueError(f"the token file {path} does not hold one token: delete it (a new "
                         "token is made at the next start)")
    return token, False


def _verifier(args):
    if not args.qr_url:
        return None
    from ..bridge.qrverify import HttpQRVerifier

    return HttpQRVerifier(args.qr_url, args.org_code, args.department, args.city_code,
                          args.hospital_code, args.channel_code, args.care_step,
                          app_id=args.app_id, app_secret=args.app_secret,
                          sm4_key=args.sm4_key, timeout=args.timeout)


def run(args):
    from ..bridge.app import parse_host
    from ..bridge.qrverify import QRVerifyError

    try:
        host, port = parse_listen(args.listen, args.allow_remote)
        for name in args.allow_host:
            try:
                parse_host(name)
            except ValueError as error:
                raise ValueError(f"--allow-host: {error}") from None
        verifier = _verifier(args)
        fleet = fleet_settings(args)
        if args.token:
            token, where, created = args.token, None, False
        else:
            where = token_file(args.token_file)
            token, created = load_token(where)
    except (ValueError, QRVerifyError) as error:
        print(f"hcterm bridge: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, host, port, token, verifier, where, created, fleet))
    except OSError as error:
        print(f"hcterm bridge: cannot listen on {args.listen}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(args, host, port, token, verifier, where=None, created=False, fleet=None):
    from ..bridge.app import create_app, start_site
    from ..bridge.logs import bridge_logger

    log = bridge_logger()
    app = create_app(args.port, token, verifier=verifier, timeout=args.timeout,
                     allow_origins=args.allow_origin, log=log,
                     negative_ret=args.negative_ret, allow_hosts=args.allow_host,
                     fleet=fleet)
    runner, url = await start_site(app, host, port)
    print(f"hcterm bridge: {url}/ (readers: {', '.join(args.port)})", flush=True)
    if fleet is not None:
        print(f"hcterm bridge: fleet on {fleet.broker.url}: region {fleet.region}, hospital "
              f"{fleet.hospital}, bridge {fleet.bridge}; audit queue {fleet.queue_path}",
              flush=True)
    if where is None:
        print("hcterm bridge: token as given", flush=True)
    else:
        print(f"hcterm bridge: token for writes, PIN and APDUs: {token} (in {where}, "
              f"{'new' if created else 'kept across restarts'}; delete the file for a new one)",
              flush=True)
        log.info("token file", extra={"fields": {"path": str(where), "created": created}})
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
