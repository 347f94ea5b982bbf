"""`hcterm blacklist …` as a platform operator and a vendor use it: keys, lists from text and
CSV, deltas, signing, verifying, provisioning a virtual reader, pushing, status."""

import os
import stat

from hcterm.cli import main
from hcterm.sim.virtualreader import VirtualReader


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_operator_flow_from_a_csv_to_a_reader(tmp_path, capsys):
    key = tmp_path / "platform.key"
    code, out, _ = run(capsys, "blacklist", "keygen", "--out", str(key))
    assert code == 0 and "never on a reader" in out
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    csv = tmp_path / "revoked.csv"
    csv.write_text("id_number,reason\n410702198804302754,stolen\n410702198804302755,typo\n"
                   "12345,short\n")
    code, _, err = run(capsys, "blacklist", "build", str(csv), "--version", "3",
                       "-o", str(tmp_path / "v3.bin"))
    assert code == 2 and not (tmp_path / "v3.bin").exists()
    assert "revoked.csv:3: '410702198804302755': check character is 5, expected 4" in err
    assert "revoked.csv:4: '12345'" in err
    csv.write_text("id_number,reason\n410702198804302754,stolen\n410702198804302754,again\n"
                   "41022219830225667X,withdrawn\n")
    code, out, _ = run(capsys, "blacklist", "build", str(csv), "--version", "3",
                       "-o", str(tmp_path / "v3.bin"))
    assert code == 0 and "2 ID numbers" in out and "1 duplicates merged" in out
    code, _, _ = run(capsys, "blacklist", "sign", str(tmp_path / "v3.bin"), "--key", str(key))
    assert code == 0
    code, out, _ = run(capsys, "blacklist", "verify", str(tmp_path / "v3.bin"),
                       "--public-key", f"{key}.pub")
    assert code == 0 and "good" in out
    today = tmp_path / "today.txt"
    today.write_text("41022219830225667X\n410105198503154213\n")
    code, out, _ = run(capsys, "blacklist", "delta", str(tmp_path / "v3.bin"), str(today),
                       "--version", "4", "-o", str(tmp_path / "d4.bin"))
    assert code == 0 and "+1 -1 ID numbers" in out
    run(capsys, "blacklist", "sign", str(tmp_path / "d4.bin"), "--key", str(key))

    with VirtualReader() as vr:
        port = str(vr.port)
        code, _, err = run(capsys, "blacklist", "push", str(tmp_path / "v3.bin"), "--port", port)
        assert code == 1 and "no platform key is provisioned" in err
        code, out, _ = run(capsys, "blacklist", "provision", "--public-key", f"{key}.pub",
                           "--port", port)
        assert code == 0 and "provisioned" in out
        code, out, _ = run(capsys, "blacklist", "push", str(tmp_path / "v3.bin"), "--port", port)
        assert code == 0 and "blacklist version 3, 2 ID numbers" in out, out
        code, out, _ = run(capsys, "blacklist", "push", str(tmp_path / "d4.bin"), "--port", port,
                           "--quiet")
        assert code == 0 and "blacklist version 4, 2 ID numbers" in out, out
        code, out, _ = run(capsys, "blacklist", "status", "--port", port)
        assert code == 0 and "version 4 (format 2), 2 ID numbers" in out, out
        # the same delta again: its list is the one in force, nothing to send
        code, out, _ = run(capsys, "blacklist", "push", str(tmp_path / "d4.bin"), "--port", port)
        assert code == 0 and "(already installed)" in out, out
        # a delta for another base
        code, _, err = run(capsys, "blacklist", "delta", str(tmp_path / "v3.bin"), str(csv),
                           "--version", "5", "-o", str(tmp_path / "d5.bin"))
        run(capsys, "blacklist", "sign", str(tmp_path / "d5.bin"), "--key", str(key))
        code, _, err = run(capsys, "blacklist", "push", str(tmp_path / "d5.bin"), "--port", port)
        assert code == 1 and "the delta applies to version 3; this reader holds 4" in err, err
        other = tmp_path / "other.key"
        run(capsys, "blacklist", "keygen", "--out", str(other))
        code, _, err = run(capsys, "blacklist", "provision", "--public-key", f"{other}.pub",
                           "--port", port)
        assert code == 1 and "blacklist_key is provisioned" in err


def test_bad_files_and_keys_are_errors_not_tracebacks(tmp_path, capsys):
    (tmp_path / "junk.bin").write_bytes(b"HCBL\x07" + bytes(300))
    code, _, err = run(capsys, "blacklist", "sign", str(tmp_path / "junk.bin"), "--key",
                       str(tmp_path / "missing.key"))
    assert code == 2 and "Traceback" not in err
    code, _, err = run(capsys, "blacklist", "verify", str(tmp_path / "nothing.bin"),
                       "--public-key", "00" * 64)
    assert code == 2 and "no such list file" in err
    (tmp_path / "latin.txt").write_bytes("410702198804302754 \xe9\n".encode("latin-1"))
    code, _, err = run(capsys, "blacklist", "build", str(tmp_path / "latin.txt"), "--version",
                       "1", "-o", str(tmp_path / "x.bin"))
    assert code == 2 and "not UTF-8" in err
