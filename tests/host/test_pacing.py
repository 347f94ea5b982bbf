"""Pace mode across the PN532's HSU line and the air: the firmware sees wire-rate timing."""

import queue
import time

from hcterm.emulator import samples
from hcterm.emulator.card import load_card
from hcterm.emulator.pn532_frames import build_command
from hcterm.emulator.pn532_hsu import Pn532Uart
from hcterm.emulator.rf14443 import Picc
from hcterm.emulator.wire_timing import WireTiming, rf_frame_time

WAKE_AND_SAM_CONFIG = b"\x55\x55" + bytes(14) + build_command(bytes.fromhex("1401"))
ACK = bytes.fromhex("0000FF00FF00")


def chip_with_card(pacing):
    model = WireTiming(pacing=pacing)
    chip = Pn532Uart(model=model)
    out = queue.Queue()
    chip.connect(out.put)
    chip.field.insert(Picc(load_card(samples.paths()[0])))
    chip.on_receive(WAKE_AND_SAM_CONFIG)
    assert out.get(timeout=2) == ACK
    out.get(timeout=2)  # D5 15
    return chip, model, out


def list_target(chip, out):
    frame = build_command(bytes.fromhex("4A0100"))
    start = time.monotonic()
    chip.on_receive(frame)
    assert out.get(timeout=2) == ACK
    answer = out.get(timeout=2)
    return time.monotonic() - start, frame, answer


def test_counters_without_pacing_cost_no_time():
    chip, model, out = chip_with_card(pacing=False)
    model.reset_counters()
    elapsed, frame, answer = list_target(chip, out)
    assert answer[5:8] == bytes.fromhex("D54B01")
    hsu = model.counters("pn532")
    assert hsu.rx_bytes == len(frame)
    assert hsu.tx_bytes == len(ACK) + len(answer)
    rf = model.counters("rf")
    # REQA, anticollision, SELECT, RATS at least; the card's answers are counted too
    assert rf.round_trips >= 4 and rf.tx_bytes > 0
    assert elapsed < 0.05


def test_pace_mode_takes_the_modeled_time():
    chip, model, out = chip_with_card(pacing=True)
    model.reset_counters()
    # let the HSU line go idle: a burst right after the last one would continue its stream
    # (catching up sleep overshoot) and start the measurement mid-stream
    time.sleep(0.02)
    elapsed, frame, answer = list_target(chip, out)
    hsu, rf = model.counters("pn532"), model.counters("rf")
    modeled = hsu.modeled_s + rf.modeled_s
    # HSU at 115200: 10 bits a byte; RF frames at 106 kbit/s plus FDT and guard times
    assert abs(hsu.modeled_s - (hsu.rx_bytes + hsu.tx_bytes) * 10 / 115200) < 1e-9
    assert rf.modeled_s > rf_frame_time(2)  # at least the RATS exchange
    # at least the modeled time; the upper bound only catches gross over-sleeping (CI load)
    assert modeled * 0.9 <= elapsed <= modeled * 2 + 0.05, (elapsed, modeled)


def test_card_processing_time_is_spent_per_apdu():
    chip, model, out = chip_with_card(pacing=False)
    list_target(chip, out)
    model.reset_counters()
    select_ddf1 = bytes.fromhex("00A4000002DDF1")
    chip.on_receive(build_command(bytes.fromhex("4001") + select_ddf1))
    assert out.get(timeout=2) == ACK
    answer = out.get(timeout=2)
    assert answer[5:8] == bytes.fromhex("D54100")
    # the select's processing figure (2 ms) is in the RF link's modeled time
    assert model.counters("rf").modeled_s >= 0.002
