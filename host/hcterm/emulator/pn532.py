"""The emulated PN532: one command core under the HSU (UART) and SPI front ends.

The front end (pn532_hsu.py, pn532_spi.py) turns bus bytes into frame events with
`FrameParser` and hands them to `Pn532Core.host_event`; the core answers through
`emit(kind, frame)` (kind "ack", "frame", "error"), and the front end puts those bytes on its bus.

| code | command | emulated |
|---|---|---|
| 00 | Diagnose | line test echo (normal and extended), ROM/RAM/antenna tests, attention |
| 02 | GetFirmwareVersion | IC 32, version 1.6, support 07 |
| 04 | GetGeneralStatus | last error, field, targets, SAM status |
| 06/08 | Read/WriteRegister | a register file: CIU 6301-633F with reset values, anything else 00 |
| 10 | SetSerialBaudrate | 9600 … 1 288 000; HSU switches after the host's ACK |
| 12 | SetParameters | flags kept; AutoRATS (10) decides whether InList sends RATS |
| 14 | SAMConfiguration | mode 1-4, optional timeout and IRQ; leaves LowVbat |
| 16 | PowerDown | answers 00, sleeps (RF off, targets gone); WakeUpEnable's interfaces wake it |
| 32 | RFConfiguration | CfgItems 01 02 04 05 0A 0B 0C 0D, lengths 1 3 1 3 11 8 3 9 |
| 4A | InListPassiveTarget | 106A, 1-2 targets; BrTy 01-04: nothing here (`4B 00`; FF waits) |
| 4E | InPSL | ISO-DEP targets: PPS to 106-848 kbit/s each way, then TxMode/RxMode speeds |
| 40 | InDataExchange | ISO-DEP by the chip, MI chaining both ways; raw + CRC for -3 targets |
| 42 | InCommunicateThru | raw frame; CRC, framing, speed per TxMode/RxMode; TxLastBits |
| 44/52/54 | InDeselect/InRelease/InSelect | S(DESELECT) or HLTA; re-activation |
| 60 | InAutoPoll | PollNr (FF: until found/aborted) pollings of 1-15 types, Period apart |

InAutoPoll answers `61 NbTg [Type Len TargetData]…` (TargetData as InListPassiveTarget's, Tg
first): type 10 finds any type A card without RATS, 20 ISO 14443-4 cards with their ATS, 00
either (ATS per AutoRATS); the other types find nothing here. RFConfiguration 05's
MxRtyPassiveActivation FF makes InListPassiveTarget wait for a card of its BrTy.

Not emulated: target mode (TgInit…), FeliCa/type B/Jewel (nothing of theirs is ever found), DEP,
MIFARE Classic auth, Read/WriteGPIO, SAM slot traffic. Those commands get the application error
frame.
"""

import threading

from reader.crc import check_crc_a

from .chipfaults import ChipFaults
from .iso14443_4_card import PCB_R_ACK, PCB_R_NAK
from .pn532_frames import ERROR_FRAME, TFI_HOST, build_response
from .pn532_initiator import AirError, Initiator
from .rf14443 import Field, with_crc

# Status codes (the low 6 bits of a status byte) and their meaning.
STATUS = {
    0x00: "success",
    0x01: "timeout: the card did not answer",
    0x02: "CRC error detected by the CIU",
    0x03: "parity error detected by the CIU",
    0x04: "erroneous bit count during anticollision/select",
    0x05: "framing error during MIFARE operation",
    0x06: "abnormal bit collision during bitwise anticollision",
    0x07: "communication buffer size insufficient",
    0x09: "RF buffer overflow detected by the CIU",
    0x0A: "RF field not switched on in time",
    0x0B: "RF protocol error",
    0x0D: "temperature error: antenna drivers switched off",
    0x0E: "internal buffer overflow",
    0x10: "invalid parameter",
    0x12: "DEP: command not supported by the target",
    0x13: "DEP: data format does not match the specification",
    0x14: "MIFARE authentication error",
    0x23: "ISO/IEC 14443-3: UID check byte is wrong",
    0x25: "DEP: invalid device state",
    0x26: "operation not allowed in this configuration",
    0x27: "command not acceptable in the current context",
    0x29: "the target was released by the initiator",
    0x2A: "card ID does not match",
    0x2B: "the card previously activated has disappeared",
    0x2C: "NFCID3 mismatch",
    0x2D: "over-current event",
    0x2E: "NAD missing in DEP frame",
}

FIRMWARE_VERSION = bytes([0x32, 0x01, 0x06, 0x07])  # IC, Ver, Rev, Support
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000)
# RFConfiguration CfgItem -> ConfigurationData length (UM0701-02 7.3.1)
RF_ITEM_LENGTHS = {0x01: 1, 0x02: 3, 0x04: 1, 0x05: 3, 0x0A: 11, 0x0B: 8, 0x0C: 3, 0x0D: 9}
PARAM_AUTO_RATS = 0x10
MAX_RESPONSE_DATA = 262  # data bytes after D5 41 status in one frame

# CIU registers with their reset values (addresses as the host uses them).
CIU_RESET = {
    0x6301: 0x3B, 0x6302: 0x80, 0x6303: 0x80, 0x6304: 0x80, 0x6305: 0x00, 0x6306: 0x10,
    0x6307: 0x84, 0x6308: 0x84, 0x6309: 0x4D, 0x630A: 0x00, 0x630B: 0x00, 0x630C: 0x62,
    0x630D: 0x00, 0x630E: 0x00, 0x630F: 0xEB, 0x6311: 0xFF, 0x6312: 0xFF, 0x6313: 0x88,
    0x6314: 0x26, 0x6315: 0x87, 0x6316: 0x48, 0x6317: 0x88, 0x6318: 0x20, 0x6319: 0x20,
    0x631A: 0x00, 0x631B: 0x00, 0x631C: 0x00, 0x631D: 0x00, 0x6327: 0x80,
    0x6331: 0x20, 0x6332: 0x80, 0x6333: 0x00, 0x6334: 0x14, 0x6335: 0x00, 0x6336: 0x00,
    0x6337: 0x21, 0x6338: 0x00, 0x633A: 0x00, 0x633B: 0x08, 0x633C: 0x10, 0x633D: 0x00,
    0x633E: 0xA0,
}
REG_TX_MODE, REG_RX_MODE, REG_BIT_FRAMING = 0x6302, 0x6303, 0x633D
MODE_SPEED_FRAMING = 0x73  # TxMode/RxMode bits 6:4 speed (106 … 848), 1:0 framing (00 type A)

# InAutoPoll target types (UM0701-02 7.3.13). Only type A cards exist in the field: the types
# that look for them and how; every other type polls and finds nothing.
AUTOPOLL_TYPES = (0x00, 0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12, 0x20, 0x23, 0x40, 0x41,
                  0x42, 0x80, 0x81, 0x82)
AUTOPOLL_GENERIC_106 = 0x00  # ISO 14443-4A, MIFARE, DEP: RATS when AutoRATS is set
AUTOPOLL_MIFARE = 0x10  # any type A card at ISO 14443-3 level (no RATS)
AUTOPOLL_ISO14443_4A = 0x20  # SAK bit 6 cards, with RATS
AUTOPOLL_PERIOD_S = 0.150  # the unit of Period


# PowerDown WakeUpEnable bits (UM0701 §7.2.11)
WAKE_INT0, WAKE_INT1, WAKE_RF, WAKE_HSU, WAKE_SPI, WAKE_GPIO, WAKE_I2C = (
    0x01, 0x02, 0x08, 0x10, 0x20, 0x40, 0x80)
WAKE_ANY = 0xFF


class AppError(Exception):
    """A command the chip rejects with the application-level error frame."""


class Pn532Core:
    """Command core: one host frame at a time; answers via `emit(kind, frame_bytes)`."""

    def __init__(self, field=None, faults=None):
        self.faults = faults or ChipFaults()
        self.field = field or Field(self.faults)
        self.initiator = Initiator(self.field)
        self.initiator.modes = self._modes
        self.emit = lambda kind, frame: None
        self.on_baudrate = lambda baudrate: None
        self._lock = threading.RLock()
        self.field.on_arrival(self._card_arrived)
        self.power_on()

    def power_on(self):
        self.lowvbat = True
        self.asleep = True
        self.wake_sources = WAKE_ANY   # LowVbat: any host interface wakes the chip
        self.sam_mode = 0
        self.parameters = 0x14
        self.registers = dict(CIU_RESET)
        self.retries = {"atr": 0xFF, "psl": 0x01, "passive": 0xFF, "com": 0x00}
        self.timings = bytes([0x00, 0x0B, 0x0A])
        self.analog = {}
        self.targets = {}
        self.last_error = 0
        self.last_response = None
        self.pending = None
        self._poll_timer = None
        self.pending_baudrate = None
        self._host_chain = bytearray()
        self.history = []  # command codes received, for tests and the CLI
        self.power_downs = 0

    # -- events from the front end -----------------------------------------------------------
    def host_event(self, event):
        with self._lock:
            kind = event[0]
            if kind == "frame":
                self._frame(event[1])
            elif kind == "ack":
                self._host_ack()
            elif kind == "nack":
                if self.last_response:
                    self.emit("frame", self.last_response)
            elif kind == "error":
                self.emit("error", ERROR_FRAME)

    def _host_ack(self):
        if self.pending:
            self._abort_pending()  # ACK from the host aborts the running command
        elif self.pending_baudrate:
            baudrate, self.pending_baudrate = self.pending_baudrate, None
            self.on_baudrate(baudrate)

    def _frame(self, body):
        if body[0] != TFI_HOST or len(body) < 2:
            self.emit("error", ERROR_FRAME)
            return
        self.asleep = False
        self.emit("ack", None)
        code, args = body[1], bytes(body[2:])
        self.history.append(code)
        self._abort_pending()
        handler = _COMMANDS.get(code)
        try:
            if handler is None:
                raise AppError(f"command {code:02X} is not emulated")
            data = handler(self, args)
        except AppError:
            self.emit("error", ERROR_FRAME)
            return
        if data is None:
            if self.pending is None:  # (InAutoPoll sets its own, with its timer)
                self.pending = (code, args)  # completes when a card arrives or the host aborts
            return
        self._respond(code, data)
        if code == 0x16:
            self.asleep = True  # PowerDown: answered, then asleep until woken

    def _abort_pending(self):
        self.pending = None
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None

    def _respond(self, code, data):
        self.last_response = build_response(bytes([code + 1]) + data)
        self.emit("frame", self.last_response)

    def _card_arrived(self, picc):
        with self._lock:
            if self.pending and self.pending[0] == 0x4A and self.pending[1][1] == 0x00:
                code, args = self.pending
                data = self._in_list(args, wait=False)
                if data[0]:
                    self.pending = None
                    self._respond(code, data)

    # -- general commands --------------------------------------------------------------------
    def _diagnose(self, args):
        if not args:
            raise AppError("Diagnose needs a test number")
        test = args[0]
        if test == 0x00:
            return bytes(args)  # communication line test: test number and data echoed
        if test in (0x01, 0x02, 0x07):
            return b"\x00"
        if test == 0x04:
            return b"\x00\x00"
        if test == 0x06:
            return self._presence_check()
        raise AppError(f"Diagnose test {test:02X} is not emulated")

    def _presence_check(self):
        """Diagnose 06 (attention / ISO 14443-4 card presence): an R(NAK) to the activated
        ISO-DEP target on the air, at the CIU's framing and speeds, must come back as an
        R(ACK); status 00, else the air's status (01: no answer)."""
        target = next((t for t in self.targets.values() if t.selected), None)
        if target is None or not target.iso_dep or not self.field.rf_on:
            return self._status(0x27 if target is None or not target.iso_dep else 0x01)
        try:
            reply = self.initiator.air(bytes([PCB_R_NAK | target.block_number]))
        except AirError as error:
            return self._status(error.code)
        if len(reply) != 1 or reply[0] & 0xF6 != PCB_R_ACK:
            return self._status(0x0B)
        return self._status(0x00)

    def _get_firmware_version(self, args):
        return FIRMWARE_VERSION

    def _get_general_status(self, args):
        # per target: Tg, BrRx, BrTx (the bit rates in use), modulation type (00: type A)
        entries = b"".join(bytes([tg, self.targets[tg].dsi, self.targets[tg].dri, 0])
                           for tg in sorted(self.targets))
        field = 0x00  # no external RF field is detected (the chip is the initiator)
        return bytes([self.last_error, field, len(self.targets)]) + entries + b"\x00"

    def _read_register(self, args):
        if not args or len(args) % 2:
            raise AppError("ReadRegister takes 16-bit addresses")
        addresses = [(args[i] << 8) | args[i + 1] for i in range(0, len(args), 2)]
        return bytes(self.registers.get(a, 0x00) for a in addresses)

    def _write_register(self, args):
        if not args or len(args) % 3:
            raise AppError("WriteRegister takes address (2 bytes) + value triples")
        for i in range(0, len(args), 3):
            self.registers[(args[i] << 8) | args[i + 1]] = args[i + 2]
        return b""

    def _set_serial_baudrate(self, args):
        if len(args) != 1 or args[0] >= len(BAUD_RATES):
            raise AppError("SetSerialBaudrate takes BR 00-08")
        self.pending_baudrate = BAUD_RATES[args[0]]
        return b""

    def _set_parameters(self, args):
        if len(args) != 1:
            raise AppError("SetParameters takes one flags byte")
        self.parameters = args[0]
        return b""

    def _sam_configuration(self, args):
        if not 1 <= len(args) <= 3 or not 1 <= args[0] <= 4:
            raise AppError("SAMConfiguration takes mode 1-4 [timeout [irq]]")
        if args[0] == 2 and len(args) < 2:
            raise AppError("virtual card mode needs a timeout")
        self.sam_mode = args[0]
        self.lowvbat = False
        return b""

    def _power_down(self, args):
        """UM0701 §7.2.11: answered (status 00), then asleep: the RF field off, targets
        released; only the interfaces enabled in WakeUpEnable wake it again."""
        if not 1 <= len(args) <= 2:
            raise AppError("PowerDown takes WakeUpEnable [GenerateIRQ]")
        self.wake_sources = args[0]
        self.power_downs += 1
        self._set_field(False)
        return b"\x00"

    def wakes_on(self, source):
        """Whether activity on host interface `source` (WAKE_HSU, WAKE_SPI) wakes the chip."""
        return bool(self.wake_sources & source)

    def _rf_configuration(self, args):
        if not args or RF_ITEM_LENGTHS.get(args[0]) != len(args) - 1:
            raise AppError("RFConfiguration: unknown item or wrong length")
        item, values = args[0], args[1:]
        if item == 0x01:
            self._set_field(values[0] & 0x01)
        elif item == 0x02:
            self.timings = values
        elif item == 0x04:
            self.retries["com"] = values[0]
        elif item == 0x05:
            self.retries.update(atr=values[0], psl=values[1], passive=values[2])
        else:
            self.analog[item] = values
        return b""

    def _set_field(self, on):
        if not on:
            self.targets.clear()
        self.field.set_rf(on)

    # -- initiator commands ------------------------------------------------------------------
    def _rf_ready(self):
        if self.lowvbat:
            raise AppError("the chip is in LowVbat: send SAMConfiguration first")
        if not self.field.rf_on:
            self.field.set_rf(True)

    def _modes(self):
        tx = self.registers.get(REG_TX_MODE, 0)
        rx = self.registers.get(REG_RX_MODE, 0)
        return tx & 0x03, (tx >> 4) & 0x07, rx & 0x03, (rx >> 4) & 0x07

    def _set_speeds(self, tx_speed, rx_speed):
        """TxMode/RxMode: type A framing at the given speed codes (the other bits kept)."""
        for reg, speed in ((REG_TX_MODE, tx_speed), (REG_RX_MODE, rx_speed)):
            value = self.registers.get(reg, 0) & ~MODE_SPEED_FRAMING & 0xFF
            self.registers[reg] = value | (speed << 4)

    def _in_list_passive_target(self, args):
        if len(args) < 2 or not 1 <= args[0] <= 2 or args[1] > 0x04:
            raise AppError("InListPassiveTarget takes MaxTg 1-2 and BrTy 00-04")
        self._rf_ready()
        if args[1] != 0x00:
            # 212/424 FeliCa, 106 type B, Jewel: no such card is ever in this field; the chip
            # retries as MxRtyPassiveActivation says (FF: until the host aborts)
            self._release_all()
            return None if self.retries["passive"] == 0xFF else b"\x00"
        return self._in_list(args, wait=True)

    def _in_list(self, args, wait):
        max_tg, uid = args[0], args[2:] or None
        self._release_all()
        self._set_speeds(0, 0)
        found = []
        for _ in range(max_tg):
            target = self.initiator.activate(self.parameters & PARAM_AUTO_RATS, uid=uid)
            if target is None:
                break
            found.append(target)
        if not found and wait and self.retries["passive"] == 0xFF:
            return None
        self.targets = {tg: t for tg, t in enumerate(found, 1)}
        return bytes([len(found)]) + b"".join(t.list_entry(tg) for tg, t in self.targets.items())

    # -- InAutoPoll --------------------------------------------------------------------------
    def _in_auto_poll(self, args):
        if len(args) < 3 or len(args) > 17 or args[0] == 0 or not 0x01 <= args[1] <= 0x0F:
            raise AppError("InAutoPoll takes PollNr 01-FF, Period 01-0F and 1-15 types")
        if any(t not in AUTOPOLL_TYPES for t in args[2:]):
            raise AppError("InAutoPoll: unknown target type")
        self._rf_ready()
        found = self._auto_poll_round(args[2:])
        if found is not None or args[0] == 1:
            return found or b"\x00"
        left = None if args[0] == 0xFF else args[0] - 1
        token = (0x60, args)
        self.pending = token
        self._schedule_poll(token, left)
        return None  # answered by a later round, or aborted by the host's ACK

    def _schedule_poll(self, token, left):
        period = token[1][1] * AUTOPOLL_PERIOD_S
        timer = threading.Timer(period, self._auto_poll_tick, (token, left))
        timer.daemon = True
        self._poll_timer = timer
        timer.start()

    def _auto_poll_tick(self, token, left):
        with self._lock:
            if self.pending is not token:
                return  # aborted or replaced by another command
            self._poll_timer = None
            found = self._auto_poll_round(token[1][2:])
            if left is not None:
                left -= 1
            if found is None and left != 0:
                self._schedule_poll(token, left)
                return
            self.pending = None
            self._respond(0x60, found or b"\x00")

    def _auto_poll_round(self, types):
        """One polling of each type in turn -> the answer's data, or None: nothing found."""
        if not self.field.rf_on:
            self.field.set_rf(True)
        for kind in types:
            if kind not in (AUTOPOLL_GENERIC_106, AUTOPOLL_MIFARE, AUTOPOLL_ISO14443_4A):
                continue  # FeliCa, type B, Jewel, DEP: nothing of theirs answers here
            self._release_all()
            self._set_speeds(0, 0)
            found = []
            for _ in range(2):
                target = self._auto_poll_target(kind)
                if target is None:
                    break
                found.append(target)
            if found:
                self.targets = {tg: t for tg, t in enumerate(found, 1)}
                out = bytearray([len(found)])
                for tg, target in self.targets.items():
                    entry = target.list_entry(tg)
                    out += bytes([kind, len(entry)]) + entry
                return bytes(out)
        return None

    def _auto_poll_target(self, kind):
        if kind == AUTOPOLL_MIFARE:
            return self.initiator.activate(False)
        if kind == AUTOPOLL_GENERIC_106:
            return self.initiator.activate(self.parameters & PARAM_AUTO_RATS)
        target = self.initiator.activate(True)  # ISO 14443-4A: only cards that do RATS
        if target is not None and not target.iso_dep:
            self.initiator.halt(target)
            return None
        return target

    def _release_all(self):
        for target in self.targets.values():
            if target.selected:
                self.initiator.halt(target)
        self.targets = {}

    def _target(self, tg):
        target = self.targets.get(tg & 0x0F)
        if target is None:
            raise AirError(0x27, f"no target {tg & 0x0F}")
        return target

    def _in_data_exchange(self, args):
        if not args:
            raise AppError("InDataExchange takes Tg [data]")
        self._rf_ready()
        try:
            target = self._target(args[0])
            if args[0] & 0x40:  # the host chains: more data follows
                self._host_chain += args[1:]
                return b"\x00"
            data, self._host_chain = bytes(self._host_chain) + args[1:], bytearray()
            if not data and target.pending_out:
                return self._next_out(target)
            if target.iso_dep:
                target.pending_out = self.initiator.exchange(target, data)
            else:
                target.pending_out = self.initiator.air(data)
            return self._next_out(target)
        except AirError as error:
            return self._status(error.code)

    def _next_out(self, target):
        out = target.pending_out
        chunk, target.pending_out = out[:MAX_RESPONSE_DATA], out[MAX_RESPONSE_DATA:]
        self.last_error = 0
        return bytes([0x40 if target.pending_out else 0x00]) + chunk

    def _status(self, code):
        self.last_error = code
        return bytes([code])

    def _in_psl(self, args):
        if len(args) != 3 or args[1] > 3 or args[2] > 3:
            raise AppError("InPSL takes Tg, BRit 00-03, BRti 00-03")
        self._rf_ready()
        try:
            target = self._target(args[0])
            if not target.iso_dep:
                return self._status(0x27)  # no ISO-DEP (nor DEP) target: no PSL/PPS here
            error = None
            for _ in range(1 + self.retries["psl"] if self.retries["psl"] != 0xFF else 16):
                try:
                    self.initiator.pps(target, args[1], args[2])
                    break
                except AirError as e:
                    error = e
            else:
                raise error
        except AirError as error:
            return self._status(error.code)
        target.dri, target.dsi = args[1], args[2]
        self._set_speeds(args[1], args[2])
        self.last_error = 0
        return b"\x00"

    def _in_communicate_thru(self, args):
        self._rf_ready()
        crc_tx = self.registers.get(REG_TX_MODE, 0) & 0x80
        crc_rx = self.registers.get(REG_RX_MODE, 0) & 0x80
        last_bits = self.registers.get(REG_BIT_FRAMING, 0) & 0x07
        frame = with_crc(args) if crc_tx else bytes(args)
        reply = self.initiator.transceive(frame, last_bits)
        if reply is None:
            return self._status(0x01)
        if reply.collision is not None:
            return self._status(0x06)
        got = reply.data
        if crc_rx:
            if not check_crc_a(got):
                return self._status(0x02)
            got = got[:-2]
        self.last_error = 0
        return b"\x00" + got

    def _in_deselect(self, args):
        return self._for_targets(args, self._halt, forget=False)

    def _in_release(self, args):
        return self._for_targets(args, self._halt, forget=True)

    def _halt(self, target):
        """S(DESELECT) or HLTA; the card is back at 106 kbit/s, and so is the chip."""
        self.initiator.halt(target)
        if target.dri or target.dsi:
            target.dri = target.dsi = 0
            self._set_speeds(0, 0)

    def _in_select(self, args):
        if len(args) != 1:
            raise AppError("InSelect takes Tg")
        try:
            target = self._target(args[0])
            self._set_speeds(0, 0)  # activation is at 106 kbit/s
            self.initiator.reselect(target, self.parameters & PARAM_AUTO_RATS)
        except AirError as error:
            return self._status(error.code)
        return b"\x00"

    def _for_targets(self, args, action, forget):
        if len(args) != 1:
            raise AppError("Tg expected")
        tgs = list(self.targets) if args[0] == 0 else [args[0]]
        if any(tg not in self.targets for tg in tgs):
            return self._status(0x27)
        for tg in tgs:
            if self.targets[tg].selected:
                action(self.targets[tg])
            if forget:
                del self.targets[tg]
        return b"\x00"


_COMMANDS = {
    0x00: Pn532Core._diagnose,
    0x02: Pn532Core._get_firmware_version,
    0x04: Pn532Core._get_general_status,
    0x06: Pn532Core._read_register,
    0x08: Pn532Core._write_register,
    0x10: Pn532Core._set_serial_baudrate,
    0x12: Pn532Core._set_parameters,
    0x14: Pn532Core._sam_configuration,
    0x16: Pn532Core._power_down,
    0x32: Pn532Core._rf_configuration,
    0x4A: Pn532Core._in_list_passive_target,
    0x40: Pn532Core._in_data_exchange,
    0x42: Pn532Core._in_communicate_thru,
    0x44: Pn532Core._in_deselect,
    0x52: Pn532Core._in_release,
    0x54: Pn532Core._in_select,
    0x4E: Pn532Core._in_psl,
    0x60: Pn532Core._in_auto_poll,
}
