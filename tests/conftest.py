"""Shared test helpers: where the shared corpus and the examples live, running the CLI, writing trees."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from codemod.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "gitops"
CORPUS = ROOT.parent / "shared" / "corpus"

# A policy with one implicit selector, for the tests that put a bad file beside a good one.
GOOD = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: g, namespace: b}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: x}
"""


def invoke(*args: str) -> Result:
    """Run the CLI in-process; an exception other than the final exit is a crash and fails the test."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write a tree of UTF-8 text files below `root`, creating folders."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the test's temporary folder, so displayed paths are short and relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
