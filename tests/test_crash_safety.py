"""A kill in the middle of `rewrite --write` leaves every file whole: either its old bytes or its new ones.

A synthetic monorepo (benchmarks/monorepo.py) is rewritten once to learn every file's new bytes and how long
the run takes. Then fresh copies are rewritten again and killed with SIGKILL at chosen moments: first by
bisection towards the moment files start changing (a kill before it leaves everything old, after the run
everything new), then at random points around that window, where some files are written and others not.
Every file must then hold exactly its old or its new bytes; the only other thing a kill may leave is the
writer's own temporary file (`.NAME.*.tmp`, never a file the tool reads).

`CODEMOD_KILL_POINTS` (default 24) sets how many kills are tried.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from monorepo import generate  # the generator lives in benchmarks/

KILL_POINTS = int(os.environ.get("CODEMOD_KILL_POINTS", "24"))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@dataclass
class Outcome:
    old: int  # files still holding their old bytes
    new: int  # files holding their new bytes
    torn: list[str]  # files holding anything else
    strays: list[str]  # files that were not there before (the writer's temporary files)


def snapshot(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


def rewrite(tree: Path, decisions: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "codemod", "rewrite", str(tree), "--decisions", str(decisions),
                             "--write", "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=tree.parent)


def killed_at(delay: float, source: Path, copy: Path, decisions: Path, before: dict[str, bytes],
              after: dict[str, bytes]) -> Outcome:
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    process = rewrite(copy, decisions)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    now = snapshot(copy)
    outcome = Outcome(0, 0, [], [])
    for name, data in now.items():
        if name not in before:
            outcome.strays.append(name)
        elif data == after[name] and data != before[name]:
            outcome.new += 1
        elif data == before[name]:
            outcome.old += 1
        else:
            outcome.torn.append(name)
    outcome.torn += [name for name in before if name not in now]  # a file must never disappear either
    return outcome


def test_a_kill_at_any_point_leaves_every_file_old_or_new(tmp_path: Path) -> None:
    source = tmp_path / "tree"
    generate(source, 400)
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text("version: 1\ndefault: all-clusters\n")
    before = snapshot(source)
    full = tmp_path / "full"
    shutil.copytree(source, full)
    start = time.perf_counter()
    assert rewrite(full, decisions).wait() == 0
    duration = time.perf_counter() - start
    after = snapshot(full)
    changed = sum(1 for name in before if after[name] != before[name])
    assert changed > 100 and after.keys() == before.keys()

    copy = tmp_path / "copy"
    outcomes: list[Outcome] = []
    low, high = 0.0, duration * 1.5
    for _ in range(KILL_POINTS // 3):  # bisection towards the moment the first file changes
        middle = (low + high) / 2
        outcomes.append(killed_at(middle, source, copy, decisions, before, after))
        if outcomes[-1].new == 0:
            low = middle
        else:
            high = middle
    chance = random.Random(7)
    while len(outcomes) < KILL_POINTS:  # random points from just before writing starts to the run's end
        delay = chance.uniform(max(0.0, low - 0.05 * duration), low + 0.5 * (duration * 1.5 - low))
        outcomes.append(killed_at(delay, source, copy, decisions, before, after))

    assert [o.torn for o in outcomes if o.torn] == []
    for outcome in outcomes:
        assert all(Path(name).name.startswith(".") and name.endswith(".tmp") for name in outcome.strays), \
            outcome.strays
    midway = [o for o in outcomes if 0 < o.new < changed]
    assert midway, [(o.old, o.new) for o in outcomes]  # some kills landed while files were being written
    print(f"\n{len(outcomes)} kill points: {len(midway)} while writing, "
          f"{sum(1 for o in outcomes if o.new == 0)} before, {sum(1 for o in outcomes if o.new == changed)} after; "
          f"0 torn files; {sum(len(o.strays) for o in outcomes)} temporary files left by kills")
