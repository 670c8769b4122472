from __future__ import annotations

from collections.abc import Callable

from click.testing import Result

from tests.conftest import EXAMPLES


def test_scan_examples_exits_1_with_undecided(cli: Callable[..., Result]) -> None:
    result = cli("scan", str(EXAMPLES))
    assert result.exit_code == 1
    assert "implicit-cluster-selector" in result.output
