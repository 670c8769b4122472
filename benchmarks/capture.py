"""Time and peak memory of `propose` and `flows diff` on a large Hubble capture.

    python benchmarks/capture.py --size-mb 1024          # a 1 GB capture, written to a temporary folder
    python benchmarks/capture.py --size-mb 200 --keep /tmp/capture

The capture repeats the bundled east/west example (examples/flows) with shifted timestamps and source
ports until it reaches the size asked, so the policies in examples/gitops match it. Each command runs in
its own process; peak memory is that process's maximum resident set size. The floor is `zcat`-free: the
time to read the same file line by line and `json.loads` each line in Python.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from timing import measure  # noqa: E402 (the measuring wrapper lives beside this script)

EXAMPLE = ROOT / "examples" / "flows"


def generate(path: Path, size: int, churn: bool) -> int:
    """Write `size` bytes (about) of capture lines; returns the number of lines. `churn`: every pass over
    the template gets new pod names (pods restart), so endpoints never repeat across days."""
    with gzip.open(EXAMPLE / "pre-upgrade.jsonl.gz", "rt", encoding="utf-8") as handle:
        template = [json.loads(x) for x in handle if x.strip()]
    written = lines = 0
    day = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < size:
            day += 1
            for obj in template:
                flow = obj.get("flow")
                if flow is not None:
                    stamp = flow["time"].replace("2026-11-", f"2026-{(day // 28) % 12 + 1:02d}-", 1)
                    flow["time"] = obj["time"] = stamp
                    for proto in flow.get("l4", {}).values():
                        proto["source_port"] = 1024 + (proto.get("source_port", 0) + day) % 60000
                    for end in ("source", "destination"):
                        pod = flow.get(end, {}).get("pod_name")
                        if churn and pod:
                            flow[end]["pod_name"] = pod.rsplit("-", 1)[0] + f"-d{day:x}"
                text = json.dumps(obj, separators=(",", ":")) + "\n"
                out.write(text)
                written += len(text)
                lines += 1
                if written >= size:
                    break
    return lines


FLOOR = """
import json, sys
n = 0
with open(sys.argv[1], "rb") as handle:
    for line in handle:
        json.loads(line)
        n += 1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--churn", action="store_true", help="New pod names every simulated day.")
    parser.add_argument("--keep", type=Path, help="Folder to keep the capture in (default: a temporary one).")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="codemod-capture-"))
    folder.mkdir(parents=True, exist_ok=True)
    capture = folder / "capture.jsonl"
    started = time.perf_counter()
    if not capture.exists() or capture.stat().st_size < options.size_mb * 2**20 * 0.99:
        lines = generate(capture, options.size_mb * 2**20, options.churn)
        print(f"generated {capture} ({lines:,} lines) in {time.perf_counter() - started:.1f} s")
    size = capture.stat().st_size / 2**20
    exe = [sys.executable, "-m", "codemod"]
    rows = [
        ("floor: read + json.loads", [sys.executable, "-c", FLOOR, str(capture)]),
        ("propose", [*exe, "propose", "--flows", str(capture), str(ROOT / "examples" / "gitops")]),
        ("flows diff (same file twice)", [*exe, "flows", "diff", str(capture), str(capture)]),
    ]
    print(f"capture: {size:,.0f} MB")
    floor = None
    for name, args in rows:
        timing = measure(args)
        wall, peak, status = timing.seconds, timing.peak_mb, timing.status
        floor = floor or wall
        print(f"{name:32} {wall:8.1f} s  {wall / floor:5.2f}x floor  {size / wall:6.1f} MB/s  "
              f"peak RSS {peak:6.0f} MB  exit {status}")
    if options.keep is None:
        capture.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
