"""The firmware's modules and who imports whom, read from the source with `ast` (no firmware
module is imported to find out), and what each board needs of them.

The graph has an edge for every import of a `reader` module, wherever it is written (at
module level or inside a function), and for every on-demand import through the RAM mechanism
(`reader.call("chips.pn532_control", ...)`, `reader.run_once("terminal.selftest", ...)`,
reader/__init__.py): their first argument is a string literal or a name bound to a string
constant, in the same module or imported from another firmware module. `reader.let_go`,
`hold` and `release` import nothing. Imports of other modules (micropython, asyncio, board,
simhal ...) are not the firmware's and are left out.

tests/host/test_layers.py checks the graph against the layers (docs/architecture.md);
tests/host/test_manifests.py checks that each board's manifest.py freezes what `board_modules`
says it needs; hcterm.sim.romimage puts the same modules into a sim board's ROMFS image.

Which reader chip a board has changes what it needs: an import written under a branch on a
chip kind (`if kind == "rc522":`, the kinds being what the boards' reader_chip() return
first) is needed only on boards of the kinds that reach it. `chip_table()` is the one table
of that (kind -> the modules imported for that chip only), read from the source
(reader/terminal/devices.py, which opens the board's chip), never written down by hand.
"""

import ast
from pathlib import Path
from typing import NamedTuple

from .mpy import BOARDS_DIR, FIRMWARE_DIR

PACKAGE = "reader"
# bottom to top: the package root (reader/__init__.py, crc, hostlink, errors), the
# subpackages, then the entry point reader.main on top of everything
LAYERS = ("root", "chips", "protocols", "cards", "terminal", "main")
ENTRY_MODULE = "reader.main"
RAM_IMPORTS = ("call", "run_once")      # reader.<these>(name, ...) import reader.<name>
REAL_ENTRY = "main.py"                  # boards/main.py, frozen as main.py on real boards
SIM_COMMON = "sim-common"
SIM_ENTRY = "simboot.py"                # boards/sim-common/simboot.py boots a sim board
SIM_NAMES = "simqstr"                   # boards/sim-common/simqstr.py: filler names at boot


class Edge(NamedTuple):
    source: str         # "reader.chips.pn532"
    target: str         # "reader.chips.pn532_control"
    line: int
    how: str            # "import", "reader.call", "reader.run_once", "__import__"
    kinds: frozenset | None = None  # only for boards with these chip kinds; None: every board

    def where(self):
        return f"{self.how}, line {self.line}"


class Call(NamedTuple):
    """An on-demand import through the RAM mechanism: `reader.<how>(target, ...)`."""
    source: str
    line: int
    how: str            # "reader.call", "reader.run_once"
    target: str | None  # "chips.pn532_control"; None when the argument is not a known string
    argument: str       # the argument as written


class Graph(NamedTuple):
    firmware_dir: Path
    modules: dict       # "reader.chips.pn532" -> Path of its file
    edges: list         # Edge, sorted
    calls: list         # Call, in file order
    missing: list       # "reader.x imports reader.y, which does not exist (import, line 3)"

    def is_package(self, module):
        return self.modules[module].name == "__init__.py"

    def targets(self, module, kind=None):
        """The modules `module` imports; with `kind`, only those it imports on that chip."""
        return sorted({e.target for e in self.edges if e.source == module
                       and (kind is None or e.kinds is None or kind in e.kinds)})


# ---- the modules ---------------------------------------------------------------------------

def module_files(firmware_dir=FIRMWARE_DIR):
    """{module name: file} for every .py file of the `reader` package."""
    firmware_dir = Path(firmware_dir)
    found = {}
    for path in sorted((firmware_dir / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(firmware_dir).with_suffix("").parts)
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def module_path(graph, module):
    """The file of `module` relative to the firmware folder, as frozen: reader/chips/pn532.py."""
    return graph.modules[module].relative_to(graph.firmware_dir).as_posix()


def layer(graph, module):
    """The index in LAYERS of `module`'s layer; None for a subpackage that is in none."""
    if module == ENTRY_MODULE:
        return LAYERS.index("main")
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and graph.is_package(module)):
        return LAYERS.index(parts[1]) if parts[1] in LAYERS[1:-1] else None
    return 0


def transient_modules(firmware_dir=FIRMWARE_DIR):
    """The names reader.TRANSIENT lists ("chips.pn532_control", ...), read from the bytes
    table literal in reader/__init__.py (lines "subpackage module module ...")."""
    tree = ast.parse(_read(Path(firmware_dir) / PACKAGE / "__init__.py"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "TRANSIENT" for t in targets):
            table = ast.literal_eval(node.value).decode()
            return {f"{package}.{leaf}" for package, *leaves in
                    (line.split() for line in table.splitlines() if line.strip())
                    for leaf in leaves}
    raise ValueError("reader/__init__.py has no TRANSIENT table literal")


# ---- reading one file ----------------------------------------------------------------------

def _read(path):
    return Path(path).read_text(encoding="utf-8")


class _Module:
    """One parsed file: its module-level string constants and what its names are bound to."""

    def __init__(self, name, path, is_package, modules):
        self.name, self.path = name, path
        self.tree = ast.parse(_read(path), filename=str(path))
        self.package = name if is_package else name.rpartition(".")[0]
        self.constants = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant) \
                    and isinstance(value.value, str):
                self.constants[target.id] = value.value
        # name -> ("module", "reader.x") or ("name", "reader.x", "NAME"); scopes are not told
        # apart (a name bound anywhere in the file counts), enough for these few names
        self.bindings = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _ours(alias.name):
                        if alias.asname:
                            self.bindings[alias.asname] = ("module", alias.name)
                        else:
                            self.bindings[alias.name.partition(".")[0]] = ("module", PACKAGE)
            elif isinstance(node, ast.ImportFrom):
                base = self.absolute(node)
                if not _ours(base):
                    continue
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    full = f"{base}.{alias.name}"
                    self.bindings[alias.asname or alias.name] = (
                        ("module", full) if full in modules else ("name", base, alias.name))

    def absolute(self, node):
        """The module an ImportFrom imports from, relative imports made absolute."""
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
        return ".".join(base + ([node.module] if node.module else []))


def _ours(name):
    return name == PACKAGE or name.startswith(PACKAGE + ".")


class _Reader:
    """Builds the edges and calls of every module, resolving names across modules."""

    def __init__(self, firmware_dir, kinds):
        self.firmware_dir = Path(firmware_dir)
        self.kinds = frozenset(kinds)
        self.files = module_files(firmware_dir)
        self.parsed = {name: _Module(name, path, path.name == "__init__.py", self.files)
                       for name, path in self.files.items()}
        self.calls, self.missing = [], []

    # names -> modules and strings
    def module_of(self, info, expr):
        """The reader module `expr` (a name or a dotted attribute) stands for, or None."""
        if isinstance(expr, ast.Name):
            bound = info.bindings.get(expr.id)
            return bound[1] if bound and bound[0] == "module" else None
        if isinstance(expr, ast.Attribute):
            base = self.module_of(info, expr.value)
            full = f"{base}.{expr.attr}" if base else None
            return full if full in self.files else None
        return None

    def string(self, info, expr, seen=()):
        """The string `expr` stands for: a literal, a module-level constant of this module or
        one imported from (or named through) another firmware module; None if unknown."""
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.Name):
            return self.constant(info.name, expr.id, seen)
        if isinstance(expr, ast.Attribute):
            module = self.module_of(info, expr.value)
            return self.constant(module, expr.attr, seen) if module else None
        return None

    def constant(self, module, name, seen=()):
        if (module, name) in seen or module not in self.parsed:
            return None
        info = self.parsed[module]
        if name in info.constants:
            return info.constants[name]
        bound = info.bindings.get(name)
        if bound and bound[0] == "name":
            return self.constant(bound[1], bound[2], seen + ((module, name),))
        return None

    # the edges of one file
    def read(self, info):
        """-> [(target, line, how, node)] of `info`'s file; records its calls and misses."""
        found = []

        def edge(target, node, how):
            if target in self.files:
                found.append((target, node.lineno, how, node))
            else:
                self.missing.append(f"{info.name} imports {target}, which does not exist "
                                    f"({how}, line {node.lineno})")

        for node in ast.walk(info.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _ours(alias.name):
                        edge(alias.name, node, "import")
            elif isinstance(node, ast.ImportFrom):
                base = info.absolute(node)
                if not _ours(base):
                    continue
                for alias in node.names:
                    # `from reader.x import y`: the submodule y if there is one, else reader.x
                    if alias.name == "*" or f"{base}.{alias.name}" not in self.files:
                        edge(base, node, "import")
                    else:
                        edge(f"{base}.{alias.name}", node, "import")
            elif isinstance(node, ast.Call):
                self.read_call(info, node, edge)
        return found

    def read_call(self, info, node, edge):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "__import__":
            if info.name in (PACKAGE, SIM_NAMES):
                # the RAM mechanism itself: __import__("reader." + name); the sim's filler
                # modules (_qfNN), which hcterm.sim.romimage writes into every sim image
                return
            name = self.string(info, node.args[0]) if node.args else None
            if name is None:
                self.missing.append(f"{info.name} imports a module it computes "
                                    f"(__import__, line {node.lineno}): name it")
            elif _ours(name):
                edge(name, node, "__import__")
            return
        if isinstance(func, ast.Attribute) and func.attr in RAM_IMPORTS \
                and self.module_of(info, func.value) == PACKAGE:
            how = "reader." + func.attr
        elif isinstance(func, ast.Name) and func.id in RAM_IMPORTS \
                and info.bindings.get(func.id) == ("name", PACKAGE, func.id):
            how = "reader." + func.id
        else:
            return
        argument = node.args[0] if node.args else None
        target = self.string(info, argument) if argument is not None else None
        self.calls.append(Call(info.name, node.lineno, how, target,
                               ast.unparse(argument) if argument is not None else ""))
        if target is not None and f"{PACKAGE}.{target}" in self.files:
            found = f"{PACKAGE}.{target}"
            edge(found, node, how)

    def file_imports(self, path, kind=None):
        info = _Module(Path(path).stem, Path(path), False, self.files)
        missing = len(self.missing)
        found = self.read(info)
        if len(self.missing) > missing:
            raise ValueError("; ".join(self.missing[missing:]))
        skipped = _unreached(info.tree, kind, self.kinds) if kind else set()
        return sorted({target for target, _, _, node in found if id(node) not in skipped})

    def graph(self):
        edges = []
        for name, info in self.parsed.items():
            found = self.read(info)
            reach = {kind: _unreached(info.tree, kind, self.kinds) for kind in self.kinds}
            for target, line, how, node in found:
                if target == name:
                    continue  # a module naming itself imports nothing new
                kinds = frozenset(k for k in self.kinds if id(node) not in reach[k])
                edges.append(Edge(name, target, line, how,
                                  None if kinds == self.kinds else kinds))
        edges = sorted(set(edges), key=lambda e: (e.source, e.line, e.target, e.how))
        calls = sorted(self.calls, key=lambda c: (c.source, c.line, c.argument))
        return Graph(self.firmware_dir, dict(self.files), edges, calls, sorted(set(self.missing)))


def import_graph(firmware_dir=FIRMWARE_DIR, kinds=()):
    """The import graph of the firmware in `firmware_dir`. `kinds`: the chip kinds of the
    boards, which tell the branches on a chip kind (an edge's `kinds`) from other code."""
    return _Reader(firmware_dir, kinds).graph()


def file_imports(path, firmware_dir=FIRMWARE_DIR, kind=None, kinds=()):
    """The reader modules a file outside the firmware (a board's board.py, main.py,
    simboot.py) imports, on a board of chip `kind` (one of `kinds`) if given."""
    return _Reader(firmware_dir, kinds).file_imports(path, kind)


# ---- branches on a chip kind ---------------------------------------------------------------

def _kind_test(test, kind, kinds):
    """True/False: whether `test` holds on a board of chip `kind`; None: it does not say."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        held = _kind_test(test.operand, kind, kinds)
        return None if held is None else not held
    if isinstance(test, ast.BoolOp):
        held = [_kind_test(v, kind, kinds) for v in test.values]
        if isinstance(test.op, ast.Or):
            return True if True in held else False if all(h is False for h in held) else None
        return False if False in held else True if all(h is True for h in held) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(left, ast.Constant) and isinstance(op, (ast.Eq, ast.NotEq)):
        left, right = right, left
    if not isinstance(left, ast.Name):
        return None
    if isinstance(right, ast.Constant):
        values = [right.value]
    elif isinstance(right, (ast.Tuple, ast.List, ast.Set)) \
            and all(isinstance(v, ast.Constant) for v in right.elts):
        values = [v.value for v in right.elts]
    else:
        return None
    if not any(v in kinds for v in values):
        return None
    if isinstance(op, (ast.Eq, ast.In)):
        return kind in values
    if isinstance(op, (ast.NotEq, ast.NotIn)):
        return kind not in values
    return None


def _unreached(tree, kind, kinds):
    """ids of the nodes of `tree` a board of chip `kind` never runs: the other kinds'
    branches, and what follows a branch that returns or raises."""
    skipped = set()

    def skip(nodes):
        for node in nodes:
            skipped.update(id(n) for n in ast.walk(node))

    def block(statements):
        # -> True when the block always returns or raises on this kind
        for i, statement in enumerate(statements):
            if ends(statement):
                skip(statements[i + 1:])
                return True
        return False

    def ends(statement):
        if isinstance(statement, (ast.Return, ast.Raise)):
            return True
        if isinstance(statement, ast.If):
            held = _kind_test(statement.test, kind, kinds)
            if held is True:
                skip(statement.orelse)
                return block(statement.body)
            if held is False:
                skip(statement.body)
                return block(statement.orelse)
            return block(statement.body) & block(statement.orelse)
        for field in ("body", "orelse", "finalbody"):
            block(getattr(statement, field, None) or [])
        for handler in getattr(statement, "handlers", None) or []:
            block(handler.body)
        return False

    block(tree.body)
    return skipped


def board_chip(board_py):
    """The chip kind a board.py's reader_chip() returns first ("pn532-uart", "rc522")."""
    tree = ast.parse(_read(board_py), filename=str(board_py))
    kinds = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "reader_chip":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) \
                        and ret.value.elts and isinstance(ret.value.elts[0], ast.Constant):
                    kinds.add(ret.value.elts[0].value)
    if len(kinds) != 1:
        raise ValueError(f"{board_py}: reader_chip() should return one chip kind first, "
                         f"found {sorted(kinds) or 'none'}")
    return kinds.pop()


def board_has_display(board_py):
    """Whether a board.py offers `display()` (the board contract's optional display)."""
    tree = ast.parse(_read(board_py), filename=str(board_py))
    return any(isinstance(n, ast.FunctionDef) and n.name == "display" for n in tree.body)


def board_shared_files(board_py):
    """{name: file} of the modules shared between real boards (boards/*.py: the watchdog,
    a wiring two boards share) that a real board's board.py imports at its top: its
    manifest.py freezes them beside it."""
    board_py = Path(board_py)
    boards_dir = board_py.parent.parent
    found = {}
    for node in ast.parse(_read(board_py), filename=str(board_py)).body:
        names = [node.module] if isinstance(node, ast.ImportFrom) and not node.level else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            path = boards_dir / f"{name}.py"
            if name and path.is_file():
                found[path.name] = path
    return found


# ---- the checks ----------------------------------------------------------------------------

def _label(index):
    return "in no layer" if index is None else LAYERS[index]


def layer_violations(graph):
    """Every import of a module in a higher layer (and every module in no layer)."""
    found = [f"{m} is in no layer (its subpackage is not one of {', '.join(LAYERS[1:-1])})"
             for m in graph.modules if layer(graph, m) is None]
    for e in graph.edges:
        low, high = layer(graph, e.source), layer(graph, e.target)
        if low is not None and high is not None and high > low:
            found.append(f"{e.source} imports {e.target} (layer {LAYERS[high]} above "
                         f"{LAYERS[low]}) [{e.where()}]")
    return found


def cycles(graph):
    """One cycle per strongly connected group of modules, as [(module, Edge to the next)]:
    the modules in order, the last edge leading back to the first."""
    out = {}
    for e in graph.edges:
        out.setdefault(e.source, {}).setdefault(e.target, e)
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def connect(v):  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(out.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph.modules):
        if v not in index:
            connect(v)
    found = []
    for group in sorted(groups, key=min):
        start = min(group)
        # the shortest way round from `start` inside the group (breadth first)
        previous, queue = {start: None}, [start]
        while queue:
            v = queue.pop(0)
            if start in out.get(v, ()):
                path = [v]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                path.reverse()
                hops = [out[a][b] for a, b in zip(path, path[1:] + [start])]
                found.append(list(zip(path, hops)))
                break
            for w in sorted(out.get(v, ())):
                if w in group and w not in previous:
                    previous[w] = v
                    queue.append(w)
    return found


def describe_cycle(cycle):
    """"reader.a -> reader.b (import, line 3) -> reader.a (reader.call, line 9)"."""
    text = cycle[0][0]
    for i, (_, edge) in enumerate(cycle):
        text += f" -> {cycle[(i + 1) % len(cycle)][0]} ({edge.where()})"
    return text


def call_problems(graph, transient):
    """Every reader.call/run_once whose target is unknown, no module, or not in TRANSIENT."""
    found = []
    for c in graph.calls:
        at = f"{c.source}: {c.how}({c.argument}, ...) at line {c.line}"
        if c.target is None:
            found.append(f"{at}: the module it names is not a string constant")
        elif f"{PACKAGE}.{c.target}" not in graph.modules:
            found.append(f"{at}: there is no module {PACKAGE}.{c.target}")
        elif c.target not in transient:
            found.append(f"{at}: {c.target} is not in reader.TRANSIENT")
    return found


# ---- what a board needs --------------------------------------------------------------------

def chip_kinds(boards_dir=BOARDS_DIR):
    """{board name: chip kind} for every board folder with a board.py."""
    return {p.parent.name: board_chip(p) for p in sorted(Path(boards_dir).glob("*/board.py"))}


def chip_table(graph):
    """The one table of what depends on the board's chip: {kind: the modules imported only
    on boards of that kind}, from the branches on a chip kind in the source."""
    table = {}
    for e in graph.edges:
        for kind in e.kinds or ():
            table.setdefault(kind, set()).add(e.target)
    return {kind: sorted(modules) for kind, modules in sorted(table.items())}


def needed(graph, roots, kind):
    """The modules `roots` bring in on a board of chip `kind`, with the packages they are in."""
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # its packages
        todo += graph.targets(module, kind)
    return seen


def is_sim(board):
    return board.startswith("sim-")


def entry_script(board, boards_dir=BOARDS_DIR):
    """What a board runs at power-on: boards/main.py (real boards: the manifest freezes it as
    main.py) or boards/sim-common/simboot.py (the virtual reader)."""
    boards_dir = Path(boards_dir)
    return boards_dir / SIM_COMMON / SIM_ENTRY if is_sim(board) else boards_dir / REAL_ENTRY


def board_modules(board, boards_dir=BOARDS_DIR, firmware_dir=FIRMWARE_DIR):
    """The firmware modules board `board` needs: all that its entry script and its board.py
    import, directly, on demand or through others, on its chip."""
    folder = Path(boards_dir) / board
    kinds = chip_kinds(boards_dir)
    kind = kinds[board]
    reader = _Reader(firmware_dir, kinds.values())
    graph = reader.graph()
    if kind not in chip_table(graph):
        raise ValueError(f"board {board}: no firmware code branches on its chip kind {kind!r} "
                         "(reader/terminal/devices.py opens the board's chip)")
    files = [entry_script(board, boards_dir), folder / "board.py"]
    if is_sim(board):
        files += sorted((Path(boards_dir) / SIM_COMMON).glob("*.py"))
    roots = {m for path in files for m in reader.file_imports(path, kind)}
    return needed(graph, roots, kind)


def board_files(board, boards_dir=BOARDS_DIR, firmware_dir=FIRMWARE_DIR):
    """{path as frozen ("reader/chips/pn532.py"): file} of the firmware modules `board` needs."""
    graph = import_graph(firmware_dir)
    return {module_path(graph, m): graph.modules[m]
            for m in sorted(board_modules(board, boards_dir, firmware_dir))}
