"""The national functions the bridge serves: `NATIONAL_READS` maps each `iR_…Info` name of
hcterm.link.national to its card file and whether it takes a record number (`recNo`);
`NATIONAL_WRITES` the DF03 writes and erases (`iW_…`, `iErase_…`, token needed) and
`NATIONAL_QUERIES` `iReader_GetLastEEIndex` / `EDIndex`. The card field forms (AN text <->
GBK hex) are hcterm.link.fields. `national_ret(error, name)` is the national return code
("ret") of a national route's answer: hcterm.link.retcodes, plus the bridge's own errors.
"""

import inspect

from reader.cards import healthcard_records as hr

from ..link.national import FILE_FIELDS, NationalInterface
from ..link.retcodes import API_CAUSE, code_of, failure_code, national_code
from .errors import ApiError
from .readers import ReaderNotFound


def _params(func):
    return [p for p in inspect.signature(func).parameters if p != "self"]


def _national(prefixes):
    for name, func in inspect.getmembers(NationalInterface, inspect.isfunction):
        if name.startswith(prefixes):
            yield name, _params(func)


def _national_reads():
    table = {}
    for name, params in _national(("iR_",)):
        core = name[3:-4]                      # DDF1EF05, DF03EE (visit records)
        file = f"{core[:4]}/{core[4:]}"
        fields = FILE_FIELDS.get(file) or [f[1] for f in hr.CYCLIC_FIELDS.get(file, ())]
        table[name] = {"file": file, "record": "recNo" in params, "fields": fields}
    return table


NATIONAL_READS = _national_reads()
# iW_ / iErase_ of DF03 (iW_DDF1EF08Info takes fields: the write route does it) -> the
# parameters after recNo (data, signature, certificate for a record; none for a flag)
NATIONAL_WRITES = {name: params[1:] for name, params in _national(("iW_DF03", "iErase_"))}
NATIONAL_QUERIES = {name: {"fields": ["index"]} for name, _ in _national(("iReader_",))}


def national_ret(error, name="iR_DDF1EF05Info", negative=False):
    """The "ret" of national function `name`'s answer: 0 for None (success), else the
    error's code (docs/bridge.md, "Return codes"); `negative`: the -1 … -8 convention."""
    failed = failure_code(name)
    if isinstance(error, ApiError):
        return code_of(API_CAUSE.get(error.body["error"], "failed"), failed, negative)
    if isinstance(error, ReaderNotFound):
        return code_of("not-open", failed, negative)
    return national_code(error, failed, negative)
