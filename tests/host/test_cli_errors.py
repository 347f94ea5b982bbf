"""Every subcommand with a bad argument: a clear message, exit status != 0, no traceback.
Plus `hcterm --version`, and a help text for every subcommand and option."""

import argparse
import subprocess
import sys

import pytest

from hcterm.cli import build_parser, subparsers_of

# (argv, expected exit status, words the message must contain)
CASES = [
    (["demo", "--heapsize", "abc"], 2, "heap size 'abc'"),
    (["demo", "--heapsize", "8k"], 1, "ran out of memory in a 8k heap"),
    (["demo", "--board", "nope"], 2, "invalid choice: 'nope'"),
    (["sim", "--heapsize", "abc"], 2, "96k"),
    (["sim", "--card", "nope"], 2, "no card image 'nope'"),
    (["sim", "--flash", "/nonexistent/dir/x.img"], 2, "/nonexistent/dir does not exist"),
    (["sim", "--board", "nope"], 2, "no board named 'nope'"),
    (["bridge", "--port", "/dev/null", "--listen", "127.0.0.1:99999"], 2, "1..65535"),
    (["bridge", "--port", "/dev/null", "--listen", "nope"], 2, "expected HOST:PORT"),
    (["bench", "tap", "--boards", "nope"], 2, "nope: not a sim board"),
    (["bench", "tap", "--taps", "0"], 2, "at least 1"),
    (["bench", "link-fuzz", "--frames", "0"], 2, "at least 1"),
    (["bench", "link-fuzz", "--noise", "2"], 2, "share from 0 to 1"),
    (["bench", "bridge", "--samples", "x"], 2, "at least 1"),
    (["bench", "flash", "--parallel", "-1"], 2, "at least 0"),
    (["bench", "nope"], 2, "invalid choice: 'nope'"),
    (["bench", "fleet", "--bridges", "0"], 2, "at least 1"),
    (["platform", "watch", "--mqtt", "ftp://x"], 2, "expected mqtt://HOST[:PORT]"),
    (["platform", "publish-blacklist", "--mqtt", "mqtt://127.0.0.1:1", "--region", "r",
      "--delta", "/nonexistent/d.bin"], 2, "no such delta file"),
    (["flash", "--board", "nope", "--port", "/dev/null"], 2, "no board named 'nope'"),
    (["flash", "--board", "sim-pn532-uart", "--port", "/dev/null", "--config", "/nonexistent"],
     2, "cannot read --config /nonexistent"),
    (["accept", "--port", "/dev/null", "--control", "/nonexistent/ctl"], 2,
     "no virtual reader on /nonexistent/ctl"),
    (["accept", "--port", "/dev/null", "--presenter", "virtual"], 2, "one --control PATH"),
    (["tap", "/etc/passwd"], 2, "/etc/passwd is not a card image"),
    (["tap", "nope"], 2, "no card image 'nope'"),
    (["remove", "--control", "/nonexistent/ctl"], 1, "no virtual reader on /nonexistent/ctl"),
    (["scan", "x", "--control", "/nonexistent/ctl"], 1, "no virtual reader"),
    (["press", "12#", "--control", "/nonexistent/ctl"], 1, "no virtual reader"),
    (["battery", "--mv", "abc"], 2, "invalid int value: 'abc'"),
    (["battery", "--mv", "3500", "--control", "/nonexistent/ctl"], 1, "no virtual reader"),
    (["pin", "--port", "/nonexistent/tty"], 1, "/nonexistent/tty"),
    (["bench", "power", "--boards", "nope"], 2, "nope: not a sim board"),
    (["emu", "--card", "/etc/passwd"], 2, "not a card image"),
    (["emu", "--chip", "nope"], 2, "invalid choice: 'nope'"),
    (["emu", "--fault", "nope"], 2, "unknown fault 'nope'"),
    (["info", "--port", "/nonexistent"], 1, "cannot open the reader's port /nonexistent"),
    (["read", "--port", "/nonexistent", "--timeout", "abc"], 2, "invalid float value"),
    (["apdu", "--port", "/nonexistent", "zz"], 2, "expected a command APDU in hex"),
    (["apdu", "--port", "/nonexistent", "--slot", "sam9", "00A40000"], 2, "unknown slot"),
    (["power-off", "--port", "/nonexistent", "--slot", "sam9"], 2, "unknown slot"),
    (["events", "--port", "/nonexistent", "--count", "-3"], 2, "at least 0"),
    (["blacklist", "build", "/nonexistent.txt", "--version", "1", "-o", "x.bin"], 2,
     "no such list file"),
    (["blacklist", "build", "x.txt", "--version", "0", "-o", "x.bin"], 2, "at least 1"),
    (["blacklist", "delta", "/nonexistent.bin", "x.txt", "--version", "2", "-o", "d.bin"], 2,
     "no such list file"),
    (["blacklist", "keygen"], 2, "--out"),
    (["blacklist", "sign", "/nonexistent.bin", "--key", "k"], 2, "no such list file"),
    (["blacklist", "verify", "/nonexistent.bin", "--public-key", "00"], 2,
     "no such list file"),
    (["blacklist", "push", "/nonexistent.bin", "--port", "/nonexistent"], 2,
     "no such list file"),
    (["blacklist", "status", "--port", "/nonexistent"], 1, "cannot open the reader's port"),
    (["blacklist", "provision", "--port", "/nonexistent", "--public-key", "zz"], 2,
     "public key"),
    (["bench", "blacklist", "--entries", "0"], 2, "at least 1"),
    (["bench", "soak", "--taps", "0"], 2, "at least 1"),
    (["bench", "journal", "--power-cuts", "-1"], 2, "at least 0"),
    (["image", "build", "--board", "nope", "-o", "x.img"], 2, "no board named 'nope'"),
    (["nope"], 2, "invalid choice: 'nope'"),
]


def hcterm(*argv, timeout=30):
    return subprocess.run([sys.executable, "-m", "hcterm.cli", *argv], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("argv,status,words", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_argument_is_one_clear_message(argv, status, words):
    out = hcterm(*argv)
    assert out.returncode == status, (out.stdout, out.stderr)
    assert words in out.stderr, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    # the message is the last line on stderr, named after the command
    assert out.stderr.strip().splitlines()[-1].startswith("hcterm")


def test_link_fuzz_with_few_frames_and_no_requests_runs():
    out = hcterm("bench", "link-fuzz", "--frames", "5", "--requests", "0", "--json")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


def test_every_subcommand_is_covered():
    nested = ("bench", "blacklist", "platform", "image")  # commands with subcommands
    covered = {" ".join(argv[:2]) if argv[0] in nested else argv[0] for argv, _, _ in CASES}
    names = {name for name, _, _ in subparsers_of(build_parser())} - set(nested)
    assert names <= covered, names - covered


def test_version():
    from reader import VERSION

    out = hcterm("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"hcterm {VERSION}"


def test_every_subcommand_and_option_has_help():
    parser = build_parser()
    missing = []
    for name, sub, help_text in [("hcterm", parser, None), *subparsers_of(parser)]:
        if not (sub.description or help_text):
            missing.append(name)
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_unexpected_error_is_reported_as_internal(monkeypatch, capsys):
    from hcterm import cli
    from hcterm.commands import sim

    def boom(*args):
        raise KeyError("surprise")

    monkeypatch.setattr(sim, "list_boards", boom)
    assert cli.main(["sim", "--list-boards"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("hcterm sim: internal error: KeyError: 'surprise' "
                           "(please report it)")
