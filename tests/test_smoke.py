"""The README's first command works: the bundled example repo yields a real, explained diff."""

from __future__ import annotations

from tests.conftest import EXAMPLES, invoke


def test_scan_examples_exits_1_with_undecided() -> None:
    result = invoke("scan", str(EXAMPLES))
    assert result.exit_code == 1
    assert "implicit-cluster-selector" in result.stdout


def test_rewrite_examples_prints_an_explained_diff() -> None:
    result = invoke("rewrite", str(EXAMPLES), "--decisions", str(EXAMPLES / "cilium-codemod.decisions.yaml"))
    assert result.exit_code == 1  # two selectors are left undecided on purpose, and one toServices peer
    assert "#   shop/payments spec.ingressDeny[0].fromEndpoints[0]: all-clusters" in result.stdout
    assert "+              operator: Exists" in result.stdout
    assert "[undecided]" in result.stderr
