"""The national read functions the bridge serves: `NATIONAL_READS` maps each `iR_…Info`
name of hcterm.link.national to its card file and whether it takes a record number
(`recNo`). The card field forms (AN text <-> GBK hex) are hcterm.link.fields.
"""

import inspect

from reader.cards import healthcard_records as hr

from ..link.national import FILE_FIELDS, NationalInterface


def _national_reads():
    table = {}
    for name, func in inspect.getmembers(NationalInterface, inspect.isfunction):
        if name.startswith("iR_") and name.endswith("Info"):
            params = [p for p in inspect.signature(func).parameters if p != "self"]
            file = f"{name[3:7]}/{name[7:11]}"
            fields = FILE_FIELDS.get(file) or [f[1] for f in hr.CYCLIC_FIELDS.get(file, ())]
            table[name] = {"file": file, "record": "recNo" in params, "fields": fields}
    return table


NATIONAL_READS = _national_reads()
