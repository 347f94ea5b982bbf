# Runs inside the reader's firmware process (micropython), sent by a host test through
# mpremote: finds what the RAM rule of reader/__init__.py forbids, a resident object holding
# a reader module or class that is no longer the one in sys.modules (a transient module let
# go and imported again is a second copy: its classes are other classes, so `except` of the
# new one misses errors raised from the old one). Prints one line per finding, then "@@done".
import sys

_MODULE = type(sys)


def _current_class(cls):
    """True unless `cls` is a reader class its module (in sys.modules) no longer holds."""
    name = getattr(cls, "__module__", "") or ""
    if not name.startswith("reader"):
        return True
    module = sys.modules.get(name)
    return module is not None and getattr(module, cls.__name__, None) is cls


def stale(root, path="root", limit=20000):
    found, seen, stack = [], set(), [(root, path)]
    while stack and len(seen) < limit:
        obj, where = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        kind = type(obj)
        if kind is _MODULE:
            name = obj.__name__
            if not name.startswith("reader"):
                continue
            if sys.modules.get(name) is not obj:
                found.append("%s: module %s is not the one in sys.modules" % (where, name))
                continue
            d = obj.__dict__
            stack.extend((d[k], "%s.%s" % (name, k)) for k in d)
            continue
        if isinstance(obj, type):
            if not _current_class(obj):
                found.append("%s: class %s.%s is not the one in sys.modules"
                             % (where, obj.__module__, obj.__name__))
            continue
        if not _current_class(kind):
            found.append("%s: a %s.%s of a module no longer in sys.modules"
                         % (where, kind.__module__, kind.__name__))
            continue
        if kind is dict:
            stack.extend((obj[k], "%s[%r]" % (where, k)) for k in obj)
        elif kind in (list, tuple):
            stack.extend((v, "%s[%d]" % (where, i)) for i, v in enumerate(obj))
        elif hasattr(obj, "__dict__") and getattr(kind, "__module__", "").startswith("reader"):
            d = obj.__dict__
            stack.extend((d[k], "%s.%s" % (where, k)) for k in d)
            module = sys.modules.get(kind.__module__)
            if module is not None:
                stack.append((module, where + ".<module of its class>"))
    return found


def report():
    import reader
    import reader.main

    for line in stale(reader.main._state, "reader.main._state") + stale(reader, "reader"):
        print("STALE", line)
    print("@@done")
