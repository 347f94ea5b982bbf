"""The reference flow: the vendor reader DLL's command sequence replayed naively, for the tap
benchmark (config `flow: reference`; docs/bench-tap.md). Not for production.

What makes it naive, as in the public vendor DLL: every file read starts with a full SELECT
walk (DDF1, then the EF) even when they are selected, every protected file gets its own
AuthIRK (GET CHALLENGE, SAM 80DE + 80FA + GET RESPONSE, EXTERNAL AUTHENTICATE), and the
terminal keeps the SAM at 9600 baud (no PPS; reader.terminal.flow powers it so). The bytes and the
data are the same as reader.cards.healthcard's; only the number of exchanges differs.
"""

from reader.cards import healthcard_items as hi
from reader.cards.healthcard import HealthCard, plan


class ReferenceCard(HealthCard):
    def select_ef(self, path):
        """The walk: SELECT the DF, then the EF, whatever is selected."""
        self.df = self.ef = None
        self.granted = []
        self.select_df(path[0:4])
        self._select(int(path[5:9], 16), path)
        self.ef = path

    def read(self, profile="identity"):
        """File by file: SELECT DDF1, SELECT EF, AuthIRK (protected files), its items."""
        if self.city8 is None:
            self.power_up()
        out = {}
        current = None
        for path, number, item, key in plan(profile):
            if item is None:
                out[key] = self.read_file(path)
                continue
            if path != current:
                current = path
                self.select_ef(path)
                read_key = hi.file_info(path)[4]
                if read_key:
                    self.authenticate(read_key)
            if path == "DDF1/EF05":
                value = self.read_tagged(item)
            else:
                value = self.read_numbered(item, number)
            if key in ("KH", "SFZH"):
                from reader.cards.healthcard import check_id_number
                check_id_number(value, "%s %s" % (path, key))
            out[key] = value
        return out
