"""The emulator's side, for host tests: stand-ins for the emulator's parts. A card that
answers every APDU the same way, without the health card application behind it."""

ATS = bytes.fromhex("0B788090028073C8211000")  # FSCI 8, TB 90: FWI 9, TC 02: CID


class StandInCard:
    """A card for rf14443.Picc: `uid`, `ats`; answers each APDU with `answer` (default: its
    header + 9000) after `seconds` of processing; keeps the APDUs it got."""

    def __init__(self, uid=bytes.fromhex("04A1B2C3"), ats=ATS, answer=None, seconds=0.0):
        self.uid, self.ats, self.answer, self.seconds = uid, ats, answer, seconds
        self.apdus = []

    def power_on(self):
        pass

    def process(self, apdu):
        self.apdus.append(apdu)
        return self.answer if self.answer is not None else apdu[:4] + b"\x90\x00"

    def processing_time(self, apdu):
        return self.seconds
