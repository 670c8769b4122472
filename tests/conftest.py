"""Shared test helpers: where the shared corpus and the examples live, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "gitops"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def cli() -> object:
    from codemod.cli import main

    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke
