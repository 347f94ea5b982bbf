"""One test per acceptance check (hcterm.flashing.acceptance.CHECKS), in their order; a
failure says what failed and what to do, as `hcterm accept` does."""

import pytest

from hcterm.flashing.acceptance import CHECKS


@pytest.mark.parametrize("name", [name for name, _ in CHECKS])
def test_check(acceptance, name):
    result = acceptance.run(name)
    if not result["ok"]:
        pytest.fail(f"{name}: {result['reason']}\nwhat to do: {result['todo']}", pytrace=False)
