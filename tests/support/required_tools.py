"""Tests that drive real outside programs (Debian's chromium, libnfc) skip when the program is
missing on a developer's machine, and fail instead under CI: `.ci/run` installs them through
`./dev.sh test` and sets HCTERM_REQUIRE_TOOLS=1, so a skip there cannot hide a missing tool."""

import os

import pytest

REQUIRED = os.environ.get("HCTERM_REQUIRE_TOOLS") == "1"


def needs(present, reason):
    """A skip mark for a test that needs an outside program (none when it is required)."""
    return pytest.mark.skipif(not present and not REQUIRED, reason=reason)
