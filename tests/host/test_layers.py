"""The firmware's layers (reader/__init__.py, docs/architecture.md): a module imports only from
its own layer or the ones below it, the modules import each other in no cycle, and every
on-demand import through the RAM mechanism (reader.call, reader.run_once) names a module
reader.TRANSIENT lets go. The graph is read from the source with `ast`
(hcterm.firmware_modules), imports inside functions and reader.call targets included."""

import textwrap

from hcterm import firmware_modules as fm

TRANSIENT_INIT = """\
    TRANSIENT = (
        b"\\nchips pn532_control sam_activation"
        b"\\nterminal selftest"
        b"\\n"
    )


    def call(name, function, *args):
        return getattr(__import__("reader." + name, None, None, (function,)), function)(*args)
"""


def firmware(tmp_path, files):
    """A fake firmware tree: {"reader/chips/x.py": source}, with every package's __init__.py."""
    files = {"reader/__init__.py": TRANSIENT_INIT, **files}
    for name, source in files.items():
        path = tmp_path / name
        for folder in [path.parent, *path.parent.parents]:
            if folder == tmp_path:
                break
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / "__init__.py").exists():
                (folder / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(source))
    return tmp_path


# ---- the real firmware ---------------------------------------------------------------------

def test_every_imported_firmware_module_exists():
    graph = fm.import_graph()
    assert not graph.missing, "\n".join(graph.missing)


def test_the_modules_import_each_other_in_no_cycle():
    found = fm.cycles(fm.import_graph())
    assert not found, "import cycles:\n" + "\n".join(fm.describe_cycle(c) for c in found)


def test_no_module_imports_from_a_layer_above_its_own():
    found = fm.layer_violations(fm.import_graph())
    assert not found, "\n".join(found)


def test_on_demand_imports_name_transient_modules():
    found = fm.call_problems(fm.import_graph(), fm.transient_modules())
    assert not found, "\n".join(found)


def test_the_transient_table_is_read_from_the_source():
    transient = fm.transient_modules()
    graph = fm.import_graph()
    assert transient, "reader.TRANSIENT lists no module"
    assert not {f"reader.{name}" for name in transient} - set(graph.modules)


# ---- the checker on fake firmware trees ----------------------------------------------------

def test_the_graph_reads_every_form_of_import(tmp_path):
    root = firmware(tmp_path, {
        "reader/crc.py": "VALUE = 1\n",
        "reader/errors.py": "import micropython\nfrom micropython import const\n",
        "reader/chips/pn532.py": """\
            import reader
            CONTROL = "chips.pn532_control"

            def setup(chip):
                return reader.call(CONTROL, "setup", chip)
            """,
        "reader/chips/pn532_control.py": "import gc\n",
        "reader/chips/sam_slot.py": """\
            import reader.errors
            from reader import crc, VERSION
            from reader.crc import VALUE

            def power_on(slot):
                import asyncio
                return reader.call("chips.sam_activation", "power_on", slot)
            """,
        "reader/chips/sam_activation.py": "from . import sam_slot\n",
        "reader/protocols/apdu.py": """\
            from reader.chips.pn532 import CONTROL
            import reader as r

            def later(chip):
                from reader.chips import pn532 as p
                r.call(CONTROL, "recover", chip)
                r.call(p.CONTROL, "recover", chip)
                r.let_go("chips.pn532_control", "cards")
                r.hold("chips.sam_activation")
                r.release("chips.sam_activation")
            """,
        "reader/terminal/selftest.py": "def run(board):\n    return board\n",
        "reader/main.py": """\
            import board
            import reader
            report = reader.run_once("terminal.selftest", "run", board)
            """,
    })
    graph = fm.import_graph(root)
    assert not graph.missing
    edges = {(e.source, e.target, e.how) for e in graph.edges}
    assert edges == {
        ("reader.chips.pn532", "reader", "import"),
        ("reader.chips.pn532", "reader.chips.pn532_control", "reader.call"),
        ("reader.chips.sam_slot", "reader.errors", "import"),
        ("reader.chips.sam_slot", "reader.crc", "import"),      # a submodule
        ("reader.chips.sam_slot", "reader", "import"),          # a name (VERSION)
        ("reader.chips.sam_slot", "reader.chips.sam_activation", "reader.call"),
        ("reader.chips.sam_activation", "reader.chips.sam_slot", "import"),
        ("reader.protocols.apdu", "reader.chips.pn532", "import"),
        ("reader.protocols.apdu", "reader", "import"),
        ("reader.protocols.apdu", "reader.chips.pn532_control", "reader.call"),
        ("reader.main", "reader", "import"),
        ("reader.main", "reader.terminal.selftest", "reader.run_once"),
    }
    # let_go, hold and release import nothing; reader/__init__'s own __import__ is the
    # mechanism, not an import
    assert [(c.source, c.target, c.argument) for c in graph.calls] == [
        ("reader.chips.pn532", "chips.pn532_control", "CONTROL"),
        ("reader.chips.sam_slot", "chips.sam_activation", "'chips.sam_activation'"),
        ("reader.main", "terminal.selftest", "'terminal.selftest'"),
        ("reader.protocols.apdu", "chips.pn532_control", "CONTROL"),
        ("reader.protocols.apdu", "chips.pn532_control", "p.CONTROL"),
    ]
    assert fm.layer_violations(graph) == []
    assert fm.call_problems(graph, fm.transient_modules(root)) == []
    cycle = fm.cycles(graph)
    assert [[module for module, _ in c] for c in cycle] == [
        ["reader.chips.sam_activation", "reader.chips.sam_slot"]]


def test_the_checker_reports_every_upward_import(tmp_path):
    root = firmware(tmp_path, {
        "reader/chips/sam_slot.py": """\
            import reader.protocols.apdu

            def exchange(slot):
                from reader.protocols.apdu import SW_OK
                from reader.terminal import settings
                return SW_OK
            """,
        "reader/protocols/apdu.py": "SW_OK = 0x9000\n",
        "reader/terminal/settings.py": "from reader.main import boot\n",
        "reader/main.py": "def boot(board):\n    pass\n",
        "reader/extras/thing.py": "",
    })
    found = fm.layer_violations(fm.import_graph(root))
    assert found == [
        "reader.extras is in no layer (its subpackage is not one of chips, protocols, cards, "
        "terminal)",
        "reader.extras.thing is in no layer (its subpackage is not one of chips, protocols, "
        "cards, terminal)",
        "reader.chips.sam_slot imports reader.protocols.apdu (layer protocols above chips) "
        "[import, line 1]",
        "reader.chips.sam_slot imports reader.protocols.apdu (layer protocols above chips) "
        "[import, line 4]",
        "reader.chips.sam_slot imports reader.terminal.settings (layer terminal above chips) "
        "[import, line 5]",
        "reader.terminal.settings imports reader.main (layer main above terminal) "
        "[import, line 1]",
    ]


def test_the_checker_reports_a_cycle_through_an_on_demand_call(tmp_path):
    root = firmware(tmp_path, {
        "reader/chips/pn532.py": """\
            import reader
            CONTROL = "chips.pn532_control"

            class PN532:
                def recover(self):
                    return reader.call(CONTROL, "recover", self)
            """,
        "reader/chips/pn532_control.py": """\
            def recover(chip):
                from reader.chips.pn532_spi import wake
                wake(chip)
            """,
        "reader/chips/pn532_spi.py": "from reader.chips.pn532 import PN532\n",
    })
    found = fm.cycles(fm.import_graph(root))
    assert [fm.describe_cycle(c) for c in found] == [
        "reader.chips.pn532 -> reader.chips.pn532_control (reader.call, line 6)"
        " -> reader.chips.pn532_spi (import, line 2)"
        " -> reader.chips.pn532 (import, line 1)"]


def test_the_checker_reports_unresolvable_call_targets(tmp_path):
    root = firmware(tmp_path, {
        "reader/chips/pn532.py": """\
            import reader
            from reader.chips.sam_slot import CHIP

            def setup(chip, leaf):
                reader.call("chips.pn532_setup", "setup", chip)       # no such module
                reader.call("chips." + leaf, "setup", chip)           # not a known string
                reader.call(CHIP, "setup", chip)                      # not in TRANSIENT
                reader.run_once(UNDEFINED, "run")                     # bound to nothing
                reader.let_go("chips.pn532_setup")                    # not an import
                return __import__("reader.chips." + leaf)             # not a known name
            """,
        "reader/chips/sam_slot.py": 'CHIP = "chips.pn532"\n',
        "reader/cards/psam.py": "import reader.cards.nothing\n",
    })
    graph = fm.import_graph(root)
    assert fm.call_problems(graph, fm.transient_modules(root)) == [
        "reader.chips.pn532: reader.call('chips.pn532_setup', ...) at line 5: "
        "there is no module reader.chips.pn532_setup",
        "reader.chips.pn532: reader.call('chips.' + leaf, ...) at line 6: "
        "the module it names is not a string constant",
        "reader.chips.pn532: reader.call(CHIP, ...) at line 7: "
        "chips.pn532 is not in reader.TRANSIENT",
        "reader.chips.pn532: reader.run_once(UNDEFINED, ...) at line 8: "
        "the module it names is not a string constant",
    ]
    assert graph.missing == [
        "reader.cards.psam imports reader.cards.nothing, which does not exist (import, line 1)",
        "reader.chips.pn532 imports a module it computes (__import__, line 10): name it"]
