"""The pre-commit case stays cheap: a one-file `scan --decisions` imports none of the heavy machinery, and
the caches that spare it (decision-file validation, plugin entry points) hit on the second run, from any
folder, and miss when a distribution is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

RUN = """
import runpy, sys
sys.argv = ["cilium-codemod", *sys.argv[1:]]
try:
    runpy.run_module("codemod", run_name="__main__")
except SystemExit:
    pass
sys.stderr.write(" ".join(sorted(sys.modules)))
"""

HEAVY = ("jsonschema", "deepdiff", "ruamel.yaml", "importlib.metadata", "codemod.planner", "codemod.verify",
         "codemod.todo", "codemod.flows", "codemod.selection")

POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: api}}]
"""


def modules_after_scan(tmp_path: Path, cwd: Path, extra_path: Path) -> set[str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text("version: 1\ndefault: all-clusters\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "CILIUM_CODEMOD_NO_CACHE": "",
           "PYTHONPATH": os.pathsep.join([str(extra_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", RUN, "scan", str(policy), "--decisions", str(decisions)],
                          cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return set(done.stderr.split())


def test_a_warm_one_file_scan_imports_nothing_heavy(tmp_path: Path) -> None:
    work, extra = tmp_path / "work", tmp_path / "extra"
    work.mkdir()
    extra.mkdir()
    first = modules_after_scan(tmp_path, work, extra)
    assert "importlib.metadata" in first  # the plugin cache was cold
    (work / "new-file.yaml").write_text("")  # the current folder changes, as it does in any repo
    warm = modules_after_scan(tmp_path, work, extra)
    assert {m for m in warm if m.split(".")[0] in {"jsonschema", "deepdiff"} or m.startswith(HEAVY)} == set()


def test_installing_a_distribution_refreshes_the_plugin_cache(tmp_path: Path) -> None:
    work, extra = tmp_path / "work", tmp_path / "extra"
    work.mkdir()
    extra.mkdir()
    modules_after_scan(tmp_path, work, extra)
    assert "importlib.metadata" not in modules_after_scan(tmp_path, work, extra)
    (extra / "some_plugin-1.0.dist-info").mkdir()  # pip installed something into a folder on sys.path
    assert "importlib.metadata" in modules_after_scan(tmp_path, work, extra)
