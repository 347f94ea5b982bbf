"""`hcterm blacklist build|delta|keygen|provision|sign|verify|push|status`: the offline
blacklist from a text or CSV list to a reader (docs/blacklist-format.md).

    hcterm blacklist keygen --out platform.key          # the platform's SM2 key pair
    hcterm blacklist provision --public-key platform.key.pub --port /dev/ttyUSB0
    hcterm blacklist build revoked.txt --version 7 -o v7.bin
    hcterm blacklist sign v7.bin --key platform.key
    hcterm blacklist delta v7.bin revoked-today.txt --version 8 -o d8.bin   (then sign it)
    hcterm blacklist verify d8.bin --public-key platform.pub
    hcterm blacklist push v7.bin --port /dev/ttyUSB0    # resumes an interrupted push
    hcterm blacklist status --port /dev/ttyUSB0

Errors say what failed and exit 1 (2 for bad arguments or a bad list).
"""

import json
import sys
import time
from pathlib import Path

from .. import blacklist_files as bf
from ..link import ReaderError
from ..platform_signing import KeyFileError
from .argtypes import positive_int

MAX_LIST_BYTES = 256 * 1024 * 1024


def register(subparsers):
    p = subparsers.add_parser("blacklist", help="build, sign, verify and push offline "
                              "blacklists (signed lists and deltas)")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    b = sub.add_parser("build", help="a list file from a text or CSV list (one ID number or "
                       "electronic health card ID a line)")
    b.add_argument("list", help="text or CSV list; `#` starts a comment")
    _version_args(b)
    b.add_argument("-o", "--out", required=True, help="the list file to write")
    b.set_defaults(func=_guard(run_build))

    d = sub.add_parser("delta", help="a delta from a list file to a newer text/CSV list")
    d.add_argument("base", help="the list file the readers hold (the delta applies to it)")
    d.add_argument("list", help="the new list, text or CSV (or a list file)")
    _version_args(d)
    d.add_argument("-o", "--out", required=True, help="the delta file to write")
    d.set_defaults(func=_guard(run_delta))

    k = sub.add_parser("keygen", help="a new SM2 key pair for the card management platform")
    k.add_argument("--out", required=True, help="private key file (written mode 0600)")
    k.add_argument("--public", help="public key file (default: OUT.pub)")
    k.set_defaults(func=_guard(run_keygen))

    r = sub.add_parser("provision", help="give a reader the platform's public key (once: a "
                       "reader keeps the first key it is given)")
    r.add_argument("--public-key", required=True, help="public key file or 128 hex digits")
    _port_args(r)
    r.set_defaults(func=_guard(run_provision))

    s = sub.add_parser("sign", help="sign a list or delta with the platform's private key")
    s.add_argument("file", help="the list or delta file (signed in place unless --out)")
    s.add_argument("--key", required=True, help="private key file (hcterm blacklist keygen)")
    s.add_argument("-o", "--out", help="signed file (default: FILE itself)")
    s.set_defaults(func=_guard(run_sign))

    v = sub.add_parser("verify", help="check a list or delta's signature and digest")
    v.add_argument("file", help="the list or delta file")
    v.add_argument("--public-key", required=True, help="public key file or 128 hex digits")
    v.set_defaults(func=_guard(run_verify))

    u = sub.add_parser("push", help="send a signed list or delta to a reader (resumes an "
                       "interrupted push; the old list stays in force until the last chunk)")
    u.add_argument("file", help="the signed list or delta file")
    _port_args(u)
    u.add_argument("--quiet", action="store_true", help="no progress bar")
    u.set_defaults(func=_guard(run_push))

    t = sub.add_parser("status", help="the blacklist a reader holds, and a download in "
                       "progress")
    _port_args(t)
    t.add_argument("--json", action="store_true", help="one JSON object")
    t.set_defaults(func=_guard(run_status))


def _version_args(p):
    p.add_argument("--version", type=positive_int, required=True,
                   help="the list's version (each new list or delta: a higher one)")
    p.add_argument("--expires-days", type=positive_int, default=None,
                   help="readers refuse the list after this many days (default: never)")


def _port_args(p):
    p.add_argument("--port", required=True, help="device path, pty or socket://host:port")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")


def _guard(func):
    def run(args):
        try:
            return func(args)
        except (bf.ListError, KeyFileError) as error:
            _say(args, error)
            return 2
        except ReaderError as error:
            _say(args, error)
            return 1
        except OSError as error:
            _say(args, f"{error.filename or ''}: {error.strerror or error}")
            return 1
    return run


def _say(args, message):
    print(f"hcterm blacklist {args.action}: {message}", file=sys.stderr)


def _read_bytes(path, what):
    p = Path(path)
    if not p.is_file():
        raise bf.ListError(f"{path}: no such {what} file")
    if p.stat().st_size > MAX_LIST_BYTES:
        raise bf.ListError(f"{path}: {p.stat().st_size} bytes, more than any list")
    return p.read_bytes()


def _entries(path):
    """Entries of a text/CSV list, or of a list file."""
    data = _read_bytes(path, "list")
    if data[:4] == b"HCBL":
        return bf.entries_of(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bf.ListError(f"{path}: not UTF-8 text (save the list as UTF-8)") from None
    return bf.read_list(text, Path(path).name)


def _expires(args):
    return int(time.time()) + 86400 * args.expires_days if args.expires_days else 0


def _write(path, data):
    Path(path).write_bytes(data)


def run_build(args):
    entries = _entries(args.list)
    data = bf.build_list(entries, args.version, expires=_expires(args))
    _write(args.out, data)
    h = bf.header(data)
    print(f"{args.out}: {bf.describe(h)}; {len(data)} bytes "
          f"({(h['body_size']) / max(1, h['count'] + h['ehc_count']):.2f} bytes an entry); "
          f"{entries.duplicates} duplicates merged; unsigned: sign it next")
    return 0


def run_delta(args):
    base = _read_bytes(args.base, "list")
    data = bf.build_delta(base, _entries(args.list), args.version, expires=_expires(args))
    _write(args.out, data)
    print(f"{args.out}: {bf.describe(bf.header(data))}; {len(data)} bytes; unsigned: sign it "
          "next")
    return 0


def run_keygen(args):
    from ..platform_signing import generate_key, save_private_key

    private, public = generate_key()
    save_private_key(args.out, private)
    public_path = args.public or f"{args.out}.pub"
    Path(public_path).write_text(public.hex() + "\n")
    print(f"private key {args.out} (keep it on the platform, never on a reader); public key "
          f"{public_path}: provision readers with it (setting blacklist_key)")
    return 0


def run_provision(args):
    from ..platform_signing import load_public_key

    key = load_public_key(args.public_key).hex()
    with _reader(args) as reader:
        if reader.config().get("blacklist_key") == key:
            print(f"{args.port}: already provisioned with this key")
            return 0
        reader.set_config(blacklist_key=key)
    print(f"{args.port}: provisioned with the platform key {key[:16]}…")
    return 0


def run_sign(args):
    from ..platform_signing import load_private_key

    data = bf.sign(_read_bytes(args.file, "list"), load_private_key(args.key))
    out = args.out or args.file
    _write(out, data)
    print(f"{out}: signed ({bf.describe(bf.header(data))})")
    return 0


def run_verify(args):
    from ..platform_signing import load_public_key

    ok, text = bf.verify(_read_bytes(args.file, "list"), load_public_key(args.public_key))
    print(f"{args.file}: {'good' if ok else 'BAD'}: {text}")
    return 0 if ok else 1


def _reader(args):
    from ..link import Reader

    reader = Reader(args.port, timeout=args.timeout)
    if reader.taken_back:
        print(f"hcterm blacklist {args.action}: {reader.taken_back}", file=sys.stderr)
    return reader


def run_push(args):
    data = _read_bytes(args.file, "list")
    h = bf.header(data)
    with _reader(args) as reader:
        if args.quiet:
            status = bf.push(reader, data)
        else:
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            with Progress("[progress.description]{task.description}", BarColumn(),
                          DownloadColumn(), TimeRemainingColumn(), transient=True) as bar:
                task = bar.add_task(f"version {h['version']}", total=None)
                status = bf.push(reader, data, lambda at, total: bar.update(
                    task, completed=at, total=total))
    print(f"{args.port}: blacklist version {status['version']}, {status['count']} ID numbers, "
          f"{status.get('ehc_count', 0)} eHC IDs"
          + (" (already installed)" if status.get("already") else ""))
    return 0


def run_status(args):
    with _reader(args) as reader:
        status = reader.blacklist_status()
    if args.json:
        print(json.dumps(status, sort_keys=True))
        return 0
    if not status.get("installed"):
        print(f"{args.port}: no blacklist installed" + (f" ({status['error']})"
                                                         if status.get("error") else ""))
    else:
        issued = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(status.get("issued", 0)))
        print(f"{args.port}: blacklist version {status['version']} (format "
              f"{status.get('format')}), {status['count']} ID numbers, "
              f"{status.get('ehc_count', 0)} eHC IDs, issued {issued}"
              + (", STALE" if status.get("stale") else ""))
    update = status.get("update")
    if update:
        print(f"  download {update['update']} open: {update['received']} of {update['total']} "
              "bytes (hcterm blacklist push FILE continues it)")
    return 0
