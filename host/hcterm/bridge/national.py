"""The national read functions the bridge serves: `NATIONAL_READS` maps each `iR_…Info`
name of hcterm.link.national to its card file and whether it takes a record number
(`recNo`). The card field forms (AN text <-> GBK hex) are hcterm.link.fields.
`national_ret(error)` is the national return code ("ret") of a national route's answer:
hcterm.link.national.national_code, plus the bridge's own errors.
"""

import inspect

from reader.cards import healthcard_records as hr

from ..link.national import (
    FILE_FIELDS,
    NEGATIVE,
    RET_NOT_OPEN,
    RET_PARAMETER,
    RET_READER,
    NationalInterface,
    national_code,
)
from .errors import ApiError
from .readers import ReaderNotFound

# the bridge's own errors (bridge.errors) -> national return code
API_RET = {"bad-request": RET_PARAMETER, "request-too-large": RET_PARAMETER,
           "reader-not-found": RET_NOT_OPEN,
           "reader-not-connected": RET_NOT_OPEN, "reader-timeout": RET_READER}


def _national_reads():
    table = {}
    for name, func in inspect.getmembers(NationalInterface, inspect.isfunction):
        if name.startswith("iR_") and name.endswith("Info"):
            params = [p for p in inspect.signature(func).parameters if p != "self"]
            core = name[3:-4]                  # DDF1EF05, DF03EE (visit records)
            file = f"{core[:4]}/{core[4:]}"
            fields = FILE_FIELDS.get(file) or [f[1] for f in hr.CYCLIC_FIELDS.get(file, ())]
            table[name] = {"file": file, "record": "recNo" in params, "fields": fields}
    return table


NATIONAL_READS = _national_reads()


def national_ret(error, negative=False):
    """The "ret" of a national route's answer: 0 for None (success), else the error's code
    (docs/bridge.md, "Return codes"); `negative`: the -1 … -8 convention."""
    if isinstance(error, ApiError):
        code = API_RET.get(error.body["error"], RET_READER)
        return NEGATIVE.get(code, code) if negative else code
    if isinstance(error, ReaderNotFound):
        return NEGATIVE[RET_NOT_OPEN] if negative else RET_NOT_OPEN
    return national_code(error, negative)
