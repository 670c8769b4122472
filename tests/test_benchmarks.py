"""The benchmark harness in a reduced size: the generator is deterministic and its counts are what the tool
finds, scan time grows linearly with the tree, and scan and rewrite stay within a generous factor of the
libyaml compose floor. The full figures (500 / 2,000 / 8,000 files) come from `benchmarks/timing.py`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, invoke

sys.path.insert(0, str(ROOT / "benchmarks"))

from monorepo import generate
from timing import COMPOSE, codemod, measure


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("trees")
    out = {}
    for size in (100, 400):
        generate(base / str(size), size)
        out[size] = base / str(size)
    (base / "d.yaml").write_text("version: 1\ndefault: all-clusters\n")
    return out


def test_generator_is_deterministic_and_counts_what_the_tool_finds(tmp_path: Path) -> None:
    first, second = generate(tmp_path / "a", 60), generate(tmp_path / "b", 60)
    assert first == second
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 60
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    data = json.loads(invoke("scan", str(tmp_path / "a"), "--format", "json").stdout)
    assert data["errors"] == [] and data["skipped"] == []
    assert sum(1 for f in data["findings"] if f["rule"] == "implicit-cluster-selector") == first.implicit_selectors


def test_scan_grows_linearly_and_stays_near_the_compose_floor(trees: dict[int, Path]) -> None:
    decisions = trees[100].parent / "d.yaml"
    scans = {n: measure(codemod("scan", str(t), "--decisions", str(decisions), "--jobs", "1"), 3) for n, t in
             trees.items()}
    floor = measure([sys.executable, "-c", COMPOSE, str(trees[400])], 3)
    growth = scans[400].seconds / scans[100].seconds
    assert 1.2 < growth < 4 * 1.6, growth  # 4x the files: linear, with room for a noisy machine
    assert scans[400].seconds < 5 * floor.seconds, (scans[400].seconds, floor.seconds)
    assert scans[400].peak_mb < 150


def test_rewrite_write_on_the_tree(trees: dict[int, Path], tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "copy"
    shutil.copytree(trees[100], tree)
    decisions = trees[100].parent / "d.yaml"
    floor = measure([sys.executable, "-c", COMPOSE, str(tree)], 3)
    written = measure(codemod("rewrite", str(tree), "--decisions", str(decisions), "--write", "--jobs", "1"))
    assert written.status == 0
    assert written.seconds < 12 * floor.seconds, (written.seconds, floor.seconds)  # start-up dominates here
    left = json.loads(invoke("scan", str(tree), "--decisions", str(decisions), "--format", "json").stdout)
    assert [f for f in left["findings"] if f["rule"] == "implicit-cluster-selector"] == []
    assert invoke("rewrite", str(tree), "--decisions", str(decisions), "--check").exit_code == 0
