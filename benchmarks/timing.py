"""Time `scan` and `rewrite` on a synthetic GitOps monorepo against the parser floors, in one run on one tree.

    python benchmarks/timing.py                      # 500, 2,000 and 8,000 files
    python benchmarks/timing.py --sizes 2000 --jobs 2

Every measurement runs in its own process (wall time and that process's peak RSS), on the same tree:
- floors: reading every file; composing every file with PyYAML's libyaml-backed loader; a ruamel.yaml
  round-trip load (skipped above 2,000 files: it takes minutes);
- `scan --decisions` with one and with N processes, `rewrite` (dry run), and `rewrite --write` with an
  all-clusters decision with one and with N processes (each on a fresh copy of the tree);
- the pre-commit case: a one-file `scan --decisions` against `python -c "import click, yaml"`.
Ratios are against the compose floor. Machines here are shared and noisy: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from monorepo import generate  # noqa: E402 (the generator lives beside this script)

MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
sys.stderr.write(done.stderr if done.returncode not in (0, 1) else "")
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

READ = """
import pathlib, sys
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    p.read_bytes()
"""

COMPOSE = """
import pathlib, sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    list(yaml.compose_all(p.read_text(encoding="utf-8"), Loader=Loader))
"""

ROUND_TRIP = """
import pathlib, sys
from ruamel.yaml import YAML
y = YAML()
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    list(y.load_all(p.read_text(encoding="utf-8")))
"""


@dataclass
class Timing:
    seconds: float
    peak_mb: float
    status: int


ROUNDS = 5  # each measurement is the median of this many, taken in rounds (see bench)


def measure(args: list[str], repeat: int = 1) -> Timing:
    """Wall time (median of `repeat`) and peak RSS of one command, run under its own parent process."""
    runs: list[Timing] = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        sys.stderr.write(done.stderr)
        status, peak = done.stdout.split()
        runs.append(Timing(wall, int(peak) / 1024, int(status)))
    runs.sort(key=lambda t: t.seconds)
    return runs[len(runs) // 2]


def codemod(*args: str) -> list[str]:
    return [sys.executable, "-m", "codemod", *args]


def bench(size: int, jobs: int, folder: Path, round_trip_limit: int) -> dict[str, Timing]:
    """Every measurement on one tree, in ROUNDS rounds of one of each, medians kept. A round takes the floors
    and our commands one after the other, so a busy moment on a shared machine weighs on a ratio's both
    sides alike (measuring the floors first, then each command several times, let one busy minute move a
    ratio by a tenth)."""
    tree = folder / f"tree-{size}"
    if not tree.exists():
        stats = generate(tree, size)
        print(f"# {size} files: {stats.documents:,} documents, {stats.policies:,} policies, "
              f"{stats.implicit_selectors:,} implicit and {stats.explicit_selectors:,} explicit selectors, "
              f"{stats.bytes / 2**20:.1f} MB", flush=True)
    decisions = folder / "all-clusters.yaml"
    decisions.write_text("version: 1\ndefault: all-clusters\n")
    copy = folder / f"copy-{size}"
    commands = {
        "read": [sys.executable, "-c", READ, str(tree)],
        "compose (libyaml)": [sys.executable, "-c", COMPOSE, str(tree)],
        **{f"scan -j {flag}": codemod("scan", str(tree), "--decisions", str(decisions), "--jobs", flag)
           for flag in dict.fromkeys(("1", str(jobs)))},
        "rewrite (dry run)": codemod("rewrite", str(tree), "--decisions", str(decisions), "--jobs", "1"),
        **{f"rewrite --write -j {flag}": codemod("rewrite", str(copy), "--decisions", str(decisions), "--write",
                                                 "--jobs", flag) for flag in dict.fromkeys(("1", str(jobs)))},
    }
    runs: dict[str, list[Timing]] = {name: [] for name in commands}
    for _ in range(ROUNDS):
        for name, args in commands.items():
            if "--write" in args:  # each on a fresh copy of the tree
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(tree, copy)
            runs[name].append(measure(args))
    shutil.rmtree(copy)
    medians = {name: sorted(timings, key=lambda t: t.seconds)[ROUNDS // 2] for name, timings in runs.items()}
    floors = dict(list(medians.items())[:2])
    if size <= round_trip_limit:  # once: at 20-30x the floor, noise does not change the picture
        floors["round-trip (ruamel)"] = measure([sys.executable, "-c", ROUND_TRIP, str(tree)])
    return {**floors, **medians}


def wall(args: list[str], repeat: int) -> float:
    """Median wall time of a command run directly (start-up is what is measured: no wrapper process)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(folder: Path) -> tuple[float, float]:
    """The pre-commit case. The package's bytecode is compiled first, as `pip install` does: with
    PYTHONDONTWRITEBYTECODE set (as on some CI machines) every run would compile every module from source."""
    import compileall
    import importlib

    for package in ("codemod", "rules"):
        compileall.compile_dir(str(Path(importlib.import_module(package).__file__ or "").parent), quiet=1)
    tree = folder / "tree-500"
    one = next(p for p in sorted(tree.rglob("*.yaml")) if "NetworkPolicy" in p.read_text(encoding="utf-8"))
    floors, hooks = [], []
    for _ in range(21):  # interleaved, so a busy moment on the machine weighs on both alike
        floors.append(wall([sys.executable, "-c", "import click, yaml"], 1))
        hooks.append(wall(codemod("scan", str(one), "--decisions", str(folder / "all-clusters.yaml")), 1))
    return statistics.median(floors), statistics.median(hooks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,2000,8000", help="Tree sizes in files, comma-separated.")
    parser.add_argument("--jobs", type=int, default=2, help="Processes for the parallel scan (default 2).")
    parser.add_argument("--keep", type=Path, help="Folder for the trees (kept; reused when present).")
    parser.add_argument("--round-trip-limit", type=int, default=2000,
                        help="Largest tree to round-trip load with ruamel.yaml (slow).")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="codemod-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in options.sizes.split(",")]
    results = {size: bench(size, options.jobs, folder, options.round_trip_limit) for size in sizes}
    names = list(dict.fromkeys(name for r in results.values() for name in r))
    print(f"\n{'':22}" + "".join(f"{size:>9,} files     " for size in sizes))
    for name in names:
        row = f"{name:22}"
        for size in sizes:
            t = results[size].get(name)
            floor = results[size]["compose (libyaml)"].seconds
            row += f"{t.seconds:7.2f} s {t.seconds / floor:5.2f}x " if t else f"{'n/a':>16} "
        print(row)
    print(f"\n{'peak RSS (MB)':22}" + "".join(f"{results[s]['scan -j 1'].peak_mb:>9.0f} scan      " for s in sizes))
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        growth = results[large]["scan -j 1"].seconds / results[small]["scan -j 1"].seconds
        print(f"scan time grows {growth:.2f}x for {large / small:.0f}x the files")
    gains = {size: r["scan -j 1"].seconds / r[f"scan -j {options.jobs}"].seconds for size, r in results.items()}
    print(f"scan --jobs {options.jobs} is faster than --jobs 1: "
          + ", ".join(f"{gain:.2f}x on {size:,} files" for size, gain in gains.items()))
    if 500 in sizes:
        floor, hook = startup(folder)
        print(f"one-file scan --decisions: {hook * 1000:.0f} ms, {hook / floor:.2f}x `import click, yaml` "
              f"({floor * 1000:.0f} ms)")
    if options.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
