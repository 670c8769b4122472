"""`--jobs`: files checked in several processes give exactly the output of one process, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CORPUS, invoke


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not beside the project")
    (tmp_path / "d.yaml").write_text("version: 1\ndefault: all-clusters\n")
    return tmp_path / "d.yaml"


@pytest.mark.parametrize("command", [
    ("scan", "--format", "json"),
    ("scan", "--format", "sarif"),
    ("rewrite",),
    ("rewrite", "--format", "markdown"),
])
def test_jobs_change_nothing_but_speed(corpus: Path, command: tuple[str, ...]) -> None:
    args = [*command, str(CORPUS / "wild"), str(CORPUS / "cilium-examples"), str(CORPUS / "helm-values"),
            "--decisions", str(corpus), "--color", "never"] if command[0] == "rewrite" else \
        [*command, str(CORPUS), "--decisions", str(corpus)]
    one = invoke(*args, "--jobs", "1")
    two = invoke(*args, "--jobs", "2")
    assert (two.exit_code, two.stdout, two.stderr) == (one.exit_code, one.stdout, one.stderr)
    assert len(one.stdout) > 1000


def test_jobs_write_the_same_files(tmp_path: Path, corpus: Path) -> None:
    import shutil

    for name in ("one", "two"):
        shutil.copytree(CORPUS / "wild", tmp_path / name)
    one = invoke("rewrite", str(tmp_path / "one"), "--decisions", str(corpus), "--write", "--jobs", "1")
    two = invoke("rewrite", str(tmp_path / "two"), "--decisions", str(corpus), "--write", "--jobs", "2")
    assert one.exit_code == two.exit_code
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert len(files) > 100
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
