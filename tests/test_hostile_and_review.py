"""Regressions from hostile input and code review: recursive aliases, deep nesting, missing paths, FIFOs,
path spellings, bad decision globs, --write --check, comments, "*" repair forms, NetworkPolicy null
selectors, quoted cluster names, fromRequires/toRequires, merge keys, per-block indentation, failed writes."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import codemod.engine
import codemod.sources
from tests.conftest import GOOD, invoke, write_files

ALL = "version: 1\ndefault: all-clusters\n"
EAST = "version: 1\ndefault: local\ndecisions:\n  - {action: clusters, clusters: [east]}\n"

CNP_HEAD = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: b}
spec:
  endpointSelector: {}
"""

# One ingress peer, written below `    - fromEndpoints:` at the item indentation of eight spaces.
CNP_PEER_HEAD = CNP_HEAD + "  ingress:\n    - fromEndpoints:\n"

GOOD_ALL = GOOD + """\
          matchExpressions:
            - key: io.cilium.k8s.policy.cluster
              operator: Exists
"""

GOOD_FINDING = ("good.yaml:8: implicit-cluster-selector b/g spec.ingress[0].fromEndpoints[0] fromEndpoints peer "
                "matches only the local cluster on Cilium 1.19 (names no cluster)")


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def scan_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(invoke("scan", "--format", "json", *args).stdout)
    return data


def rules_and_paths(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["rule"], f["path"]) for f in data["findings"]]


# 1. Recursive aliases -------------------------------------------------------------------------------------

RECURSIVE_SPEC = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: b}
spec: &s {ingress: [{fromEndpoints: [{x: *s}]}]}
"""

RECURSIVE_SELECTOR = CNP_PEER_HEAD + "        - &s {<<: *s}\n"

RECURSIVE_ERRORS = (
    "bad.yaml:4: error: cannot parse: recursive alias *s (refers to a node that contains it)\n"
    "bad2.yaml:8: error: cannot parse: recursive alias *s (refers to a node that contains it)\n"
)


def test_recursive_alias_is_an_error_and_other_files_are_still_scanned(in_tmp: Path) -> None:
    write_files(in_tmp, {"bad.yaml": RECURSIVE_SPEC, "bad2.yaml": RECURSIVE_SELECTOR, "good.yaml": GOOD})
    result = invoke("scan", "bad.yaml", "bad2.yaml", "good.yaml")
    assert result.exit_code == 2
    assert result.stderr == RECURSIVE_ERRORS
    assert result.stdout == (GOOD_FINDING + "\n\nFound 1 finding in 1 file: 1 implicit-cluster-selector "
                             "(1 policy in 1 file, 2 errors).\n")


def test_recursive_alias_is_untouched_and_other_files_are_still_rewritten(in_tmp: Path) -> None:
    write_files(in_tmp, {"bad.yaml": RECURSIVE_SPEC, "bad2.yaml": RECURSIVE_SELECTOR, "good.yaml": GOOD,
                         "d.yaml": ALL})
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "bad.yaml", "bad2.yaml", "good.yaml")
    assert result.exit_code == 2
    assert result.stderr == ("rewrote good.yaml (1 change)\n" + RECURSIVE_ERRORS
                             + "rewrote 1 file (1 change: 1 all-clusters); 0 findings left; 2 errors\n")
    assert Path("good.yaml").read_text(encoding="utf-8") == GOOD_ALL
    assert Path("bad.yaml").read_text(encoding="utf-8") == RECURSIVE_SPEC
    assert Path("bad2.yaml").read_text(encoding="utf-8") == RECURSIVE_SELECTOR


def test_one_anchor_used_a_hundred_thousand_times_composes_in_linear_time() -> None:
    """Each alias is noted on the node it names: appending, not copying, or this takes minutes."""
    import time

    from codemod.documents import parse_stream

    text = "a: &x {k: v}\nb: [" + ", ".join(["*x"] * 100_000) + "]\n"
    start = time.perf_counter()
    (doc,) = parse_stream(text)
    assert time.perf_counter() - start < 10
    assert doc.root is not None and len(doc.root.pairs[0][1].aliases) == 100_000  # type: ignore[attr-defined]


# 2. Deep nesting ------------------------------------------------------------------------------------------

# PyYAML 6.0.4's parser stops at a nesting limit itself ("exceeded maximum nesting depth"); older ones let
# our composer hit Python's recursion limit ("nested too deeply"). Either way: one error line for that file.
DEEP_ERROR = re.compile(r"deep\.yaml(:\d+)?: error: (nested too deeply|cannot parse: \S.*)\n")


@pytest.mark.parametrize("text", [
    "# NetworkPolicy\nkey: " + "[" * 1200 + "]" * 1200 + "\n",
    "kind: NetworkPolicy\nkey: " + "[" * 1200 + "\n",
    CNP_PEER_HEAD + "        - matchLabels: {app: x}\n          x: " + "[" * 1200 + "]" * 1200 + "\n",
], ids=["closed", "unclosed", "inside-a-policy"])
def test_deep_nesting_is_an_error_for_that_file_only(in_tmp: Path, text: str) -> None:
    write_files(in_tmp, {"deep.yaml": text, "good.yaml": GOOD})
    result = invoke("scan", "deep.yaml", "good.yaml")
    assert result.exit_code == 2
    assert DEEP_ERROR.fullmatch(result.stderr), result.stderr
    assert result.stdout.startswith(GOOD_FINDING + "\n")
    write("d.yaml", ALL)
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "deep.yaml", "good.yaml")
    assert result.exit_code == 2
    assert Path("deep.yaml").read_text(encoding="utf-8") == text
    assert Path("good.yaml").read_text(encoding="utf-8") == GOOD_ALL


# 3. Missing paths -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["nope.yaml", "nope", "nope/x.yaml"])
def test_missing_path_is_an_error(in_tmp: Path, missing: str) -> None:
    write("good.yaml", GOOD)
    result = invoke("scan", missing, "good.yaml")
    assert result.exit_code == 2
    assert result.stderr == f"{missing}: error: no such file or folder\n"
    assert result.stdout.startswith(GOOD_FINDING + "\n")
    result = invoke("rewrite", missing)
    assert result.exit_code == 2
    assert result.stderr == (f"{missing}: error: no such file or folder\n"
                             "would rewrite 0 files (0 changes); 0 findings left; 1 error\n")


# 4. FIFOs -------------------------------------------------------------------------------------------------

def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, so that a hang on a FIFO fails the test instead of blocking it."""
    return subprocess.run([sys.executable, "-m", "codemod", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=20, check=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_in_a_scanned_folder_is_ignored(in_tmp: Path) -> None:
    Path("dir").mkdir()
    os.mkfifo("dir/p.yaml")
    done = run_cli(in_tmp, "scan", "dir")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "No affected selectors or other findings (0 policies in 0 files).\n"
    write("dir/good.yaml", GOOD)
    done = run_cli(in_tmp, "scan", "dir")
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.startswith("dir/" + GOOD_FINDING + "\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_named_explicitly_is_skipped(in_tmp: Path) -> None:
    Path("dir").mkdir()
    os.mkfifo("dir/p.yaml")
    done = run_cli(in_tmp, "scan", "dir/p.yaml")
    assert done.returncode == 0
    assert done.stderr == "dir/p.yaml: skipped: not a regular file\n"
    assert done.stdout == "No affected selectors or other findings (0 policies in 0 files, 1 skipped).\n"
    done = run_cli(in_tmp, "scan", "--format", "json", "dir/p.yaml")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"findings": [], "errors": [],
                                       "skipped": [{"file": "dir/p.yaml", "reason": "not a regular file"}]}


# 5. Path normalisation ------------------------------------------------------------------------------------

APPS_DECISIONS = """\
version: 1
decisions:
  - match: {file: "apps/*.yaml"}
    action: all-clusters
"""


@pytest.mark.parametrize("spelling", ["absolute-folder", "absolute-file", "dotdot"])
def test_decision_file_glob_matches_however_the_path_is_spelled(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch, spelling: str) -> None:
    write_files(in_tmp, {"d.yaml": APPS_DECISIONS, "apps/p.yaml": GOOD})
    (in_tmp / "sub").mkdir()
    monkeypatch.chdir(in_tmp / "sub")
    path = {"absolute-folder": str(in_tmp / "apps"), "absolute-file": str(in_tmp / "apps" / "p.yaml"),
            "dotdot": "../apps/../apps"}[spelling]
    data = scan_json("--decisions", "../d.yaml", path)
    assert [(f["path"], f["decision"]) for f in data["findings"]] == [
        ("spec.ingress[0].fromEndpoints[0]", "all-clusters")]
    assert invoke("scan", "--decisions", "../d.yaml", path).exit_code == 0


def test_same_file_named_twice_is_written_once(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(in_tmp, {"d.yaml": APPS_DECISIONS, "apps/p.yaml": GOOD})
    writes: list[Path] = []
    real = codemod.sources.write_atomically

    def counting(path: Path, data: bytes, sync: bool = True) -> None:
        writes.append(path)
        real(path, data, sync)

    monkeypatch.setattr(codemod.sources, "write_atomically", counting)
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "apps", "apps/../apps")
    assert result.exit_code == 0
    assert result.stderr == ("rewrote apps/p.yaml (1 change)\n"
                             "rewrote 1 file (1 change: 1 all-clusters); 0 findings left\n")
    assert writes == [in_tmp / "apps" / "p.yaml"]
    assert Path("apps/p.yaml").read_text(encoding="utf-8") == GOOD_ALL


# 6. Bad glob in a decision file ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["scan", "rewrite"])
def test_invalid_glob_in_decision_file_names_file_line_and_field(in_tmp: Path, command: str) -> None:
    write("bad.d.yaml", 'version: 1\ndecisions:\n  - match: {file: "[z-a]"}\n    action: all-clusters\n')
    write("good.yaml", GOOD)
    args = ["--write"] if command == "rewrite" else []
    result = invoke(command, *args, "--decisions", "bad.d.yaml", "good.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: bad.d.yaml:3: decisions[0].match.file: invalid glob")
    assert Path("good.yaml").read_text(encoding="utf-8") == GOOD


# 7. --write --check ---------------------------------------------------------------------------------------

def test_write_check_writes_then_exits_one_and_a_second_run_exits_zero(in_tmp: Path) -> None:
    write_files(in_tmp, {"good.yaml": GOOD, "d.yaml": ALL})
    first = invoke("rewrite", "--write", "--check", "--decisions", "d.yaml", "good.yaml")
    assert first.exit_code == 1
    assert first.stdout == ""
    assert first.stderr == "rewrote good.yaml (1 change)\nrewrote 1 file (1 change: 1 all-clusters); 0 findings left\n"
    assert Path("good.yaml").read_text(encoding="utf-8") == GOOD_ALL
    second = invoke("rewrite", "--write", "--check", "--decisions", "d.yaml", "good.yaml")
    assert second.exit_code == 0
    assert second.stderr == "rewrote 0 files (0 changes); 0 findings left\n"
    assert Path("good.yaml").read_text(encoding="utf-8") == GOOD_ALL


# 8. Comments are never lost -------------------------------------------------------------------------------

NP_COMMENT = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: b}
spec:
  podSelector: {}
  ingress:
    - from:
        - podSelector:
            matchLabels:
              io.cilium.k8s.policy.cluster: ""
              # owned by team X
              app: x
"""

NP_COMMENT_AFTER = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: b}
spec:
  podSelector: {}
  ingress:
    - from:
        - podSelector:
            matchLabels:
              # owned by team X
              app: x
            matchExpressions:
              - key: io.cilium.k8s.policy.cluster
                operator: Exists
"""

WILD_COMMENT_AFTER_FIRST = CNP_PEER_HEAD + """\
        - matchLabels:
            app: x
            # keep: team y
            io.cilium.k8s.policy.cluster: "*"
"""

WILD_COMMENT_BEFORE_LAST = CNP_PEER_HEAD + """\
        - matchLabels:
            io.cilium.k8s.policy.cluster: "*"
            # keep: team y
            app: x
"""

EXISTS_BLOCK = """\
          matchExpressions:
            - key: io.cilium.k8s.policy.cluster
              operator: Exists
"""


@pytest.mark.parametrize(("before", "after", "decisions"), [
    (NP_COMMENT, NP_COMMENT_AFTER, ALL),
    (WILD_COMMENT_AFTER_FIRST,
     CNP_PEER_HEAD + "        - matchLabels:\n            app: x\n            # keep: team y\n" + EXISTS_BLOCK, None),
    (WILD_COMMENT_BEFORE_LAST,
     CNP_PEER_HEAD + "        - matchLabels:\n            # keep: team y\n            app: x\n" + EXISTS_BLOCK, None),
], ids=["np-empty-cluster-label", "wildcard-last", "wildcard-first"])
def test_comment_between_labels_is_kept(in_tmp: Path, before: str, after: str, decisions: str | None) -> None:
    write("p.yaml", before)
    args: list[str] = []
    if decisions is not None:
        write("d.yaml", decisions)
        args = ["--decisions", "d.yaml"]
    result = invoke("rewrite", "--write", *args, "p.yaml")
    assert result.exit_code == 0
    assert result.stderr == ("rewrote p.yaml (1 change)\nrewrote 1 file (1 change: 1 "
                             f"{'all-clusters' if decisions else 'invalid-cluster-wildcard'}); 0 findings left\n")
    assert Path("p.yaml").read_text(encoding="utf-8") == after
    again = invoke("rewrite", "--write", *args, "p.yaml")
    assert (again.exit_code, again.stderr) == (0, "rewrote 0 files (0 changes); 0 findings left\n")


WILD_FLOW_COMMENT = CNP_PEER_HEAD + """\
        - matchLabels: {
            app: y,  # app y
            io.cilium.k8s.policy.cluster: "*"
          }
"""

WILD_FINDING = ('invalid-cluster-wildcard b/a spec.ingress[0].fromEndpoints[0] a "*" value for '
                "io.cilium.k8s.policy.cluster is rejected by the API server (label values have no wildcard); "
                "all clusters is {key: io.cilium.k8s.policy.cluster, operator: Exists}")


def test_edit_that_would_remove_a_comment_in_a_flow_mapping_is_refused(in_tmp: Path) -> None:
    write("p.yaml", WILD_FLOW_COMMENT)
    result = invoke("rewrite", "--write", "p.yaml")
    assert result.exit_code == 2
    assert result.stderr == (
        "p.yaml:10: error: not rewritten: removing io.cilium.k8s.policy.cluster would take a comment or line "
        "break with it\n"
        f"p.yaml:10: {WILD_FINDING}\n"
        "rewrote 0 files (0 changes); 1 finding left: 1 invalid-cluster-wildcard; 1 error\n")
    assert Path("p.yaml").read_text(encoding="utf-8") == WILD_FLOW_COMMENT


WILD_TRAILING_BLOCK = (CNP_PEER_HEAD + "        - matchLabels:\n            app: x\n"
                       '            io.cilium.k8s.policy.cluster: "*"  # everywhere\n')


def test_wildcard_label_with_its_own_trailing_comment_keeps_the_comment_on_its_own_line(in_tmp: Path) -> None:
    write("p.yaml", WILD_TRAILING_BLOCK)
    result = invoke("rewrite", "--write", "p.yaml")
    assert result.exit_code == 0, result.stderr
    assert Path("p.yaml").read_text(encoding="utf-8") == WILD_TRAILING_BLOCK.replace(
        '            io.cilium.k8s.policy.cluster: "*"  # everywhere\n',
        "            # everywhere\n"
        "          matchExpressions:\n            - key: io.cilium.k8s.policy.cluster\n"
        "              operator: Exists\n")


def test_wildcard_label_with_its_own_trailing_comment_in_flow_is_refused(in_tmp: Path) -> None:
    text = (CNP_PEER_HEAD + "        - matchLabels: {\n"
            '            io.cilium.k8s.policy.cluster: "*",  # everywhere\n            app: y\n          }\n')
    write("p.yaml", text)
    result = invoke("rewrite", "--write", "p.yaml")
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("p.yaml") and "error: not rewritten:" in first and "comment" in first
    assert result.stderr.endswith("rewrote 0 files (0 changes); 1 finding left: 1 invalid-cluster-wildcard; 1 error\n")
    assert Path("p.yaml").read_text(encoding="utf-8") == text


# 9. Wildcard repair forms ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("selector", "repaired"), [
    ('        - matchLabels:\n'
     '            io.cilium.k8s.policy.cluster: "*"\n'
     '            k8s:io.cilium.k8s.policy.cluster: "*"\n',
     '        - matchExpressions:\n'
     '            - key: io.cilium.k8s.policy.cluster\n'
     '              operator: Exists\n'
     '            - key: "k8s:io.cilium.k8s.policy.cluster"\n'
     '              operator: Exists\n'),
    ('        - matchLabels:\n'
     '            io.cilium.k8s.policy.cluster: "*"\n'
     '            app: x\n'
     '            k8s:io.cilium.k8s.policy.cluster: "*"\n',
     '        - matchLabels:\n'
     '            app: x\n'
     '          matchExpressions:\n'
     '            - key: io.cilium.k8s.policy.cluster\n'
     '              operator: Exists\n'
     '            - key: "k8s:io.cilium.k8s.policy.cluster"\n'
     '              operator: Exists\n'),
    ('        - matchExpressions:\n'
     '            - key: io.cilium.k8s.policy.cluster\n'
     '              operator: In\n'
     '              values: ["*"]\n'
     '            - {key: app, operator: In, values: [x]}\n',
     '        - matchExpressions:\n'
     '            - key: io.cilium.k8s.policy.cluster\n'
     '              operator: Exists\n'
     '            - {key: app, operator: In, values: [x]}\n'),
    ('        - matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: In, values: ["*"]}]\n',
     '        - matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]\n'),
], ids=["two-wildcard-labels-only", "two-wildcard-labels-and-app", "block-expression", "flow-expression"])
def test_wildcard_repair_forms(in_tmp: Path, selector: str, repaired: str) -> None:
    before = CNP_PEER_HEAD + selector
    write("p.yaml", before)
    data = scan_json("p.yaml")
    assert rules_and_paths(data) == [("invalid-cluster-wildcard", "spec.ingress[0].fromEndpoints[0]")]
    assert invoke("scan", "p.yaml").exit_code == 1
    result = invoke("rewrite", "--write", "p.yaml")
    assert result.exit_code == 0
    assert result.stderr == ("rewrote p.yaml (1 change)\n"
                             "rewrote 1 file (1 change: 1 invalid-cluster-wildcard); 0 findings left\n")
    assert Path("p.yaml").read_text(encoding="utf-8") == CNP_PEER_HEAD + repaired
    again = invoke("rewrite", "--write", "p.yaml")
    assert (again.exit_code, again.stderr) == (0, "rewrote 0 files (0 changes); 0 findings left\n")
    assert Path("p.yaml").read_text(encoding="utf-8") == CNP_PEER_HEAD + repaired
    assert scan_json("p.yaml")["findings"] == []


# 10. NetworkPolicy null podSelector and a cluster key without a value -------------------------------------

NP_HEAD = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: b}
spec:
  podSelector: {}
  ingress:
    - from:
"""

NP_NULL_POD = NP_HEAD + "        - namespaceSelector: {}\n          podSelector:\n"
NP_KEY_ONLY = NP_HEAD + "        - podSelector:\n            matchLabels: {io.cilium.k8s.policy.cluster}\n"


@pytest.mark.parametrize(("before", "decisions", "after"), [
    (NP_NULL_POD, EAST, NP_HEAD + "        - namespaceSelector: {}\n"
     "          podSelector: {matchLabels: {io.cilium.k8s.policy.cluster: east}}\n"),
    (NP_NULL_POD, ALL, NP_HEAD + "        - namespaceSelector: {}\n"
     "          podSelector: {matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]}\n"),
    (NP_KEY_ONLY, EAST, NP_HEAD + "        - podSelector:\n"
     "            matchLabels: {io.cilium.k8s.policy.cluster: east}\n"),
    (NP_KEY_ONLY, ALL, NP_HEAD + "        - podSelector:\n            matchLabels: {}\n"
     "            matchExpressions:\n              - key: io.cilium.k8s.policy.cluster\n"
     "                operator: Exists\n"),
], ids=["null-podselector-east", "null-podselector-all", "key-only-east", "key-only-all"])
def test_networkpolicy_null_selector_and_valueless_cluster_key(
        in_tmp: Path, before: str, decisions: str, after: str) -> None:
    write_files(in_tmp, {"n.yaml": before, "d.yaml": decisions})
    assert rules_and_paths(scan_json("n.yaml")) == [("implicit-cluster-selector", "spec.ingress[0].from[0]")]
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "n.yaml")
    assert result.exit_code == 0
    assert Path("n.yaml").read_text(encoding="utf-8") == after
    assert scan_json("n.yaml")["findings"] == []


# 11. Cluster names that YAML 1.1 would not read as strings ------------------------------------------------

@pytest.mark.parametrize(("cluster", "written"), [
    *[(name, f'"{name}"') for name in ("y", "n", "Y", "N", "no", "on", "yes", "off", "0755", "1e3", "1e-3", "0x1f",
                                           "0o17", "123", "0", "true", "false", "null")],
    *[(name, name) for name in ("east", "us-west-1", "a.b")],
])
def test_cluster_name_quoting(in_tmp: Path, cluster: str, written: str) -> None:
    before = CNP_PEER_HEAD + "        - matchLabels:\n            app: x\n"
    write("p.yaml", before)
    write("d.yaml", f'version: 1\ndecisions:\n  - {{action: clusters, clusters: ["{cluster}"]}}\n')
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "p.yaml")
    assert result.exit_code == 0
    expected = before + f"            io.cilium.k8s.policy.cluster: {written}\n"
    assert Path("p.yaml").read_text(encoding="utf-8") == expected


def test_cluster_names_in_values_are_quoted_where_needed(in_tmp: Path) -> None:
    before = CNP_PEER_HEAD + "        - matchLabels:\n            app: x\n"
    write("p.yaml", before)
    write("d.yaml", 'version: 1\ndecisions:\n  - {action: clusters, clusters: ["no", east, "0755"]}\n')
    assert invoke("rewrite", "--write", "--decisions", "d.yaml", "p.yaml").exit_code == 0
    assert Path("p.yaml").read_text(encoding="utf-8") == before + """\
          matchExpressions:
            - key: io.cilium.k8s.policy.cluster
              operator: In
              values:
                - "no"
                - east
                - "0755"
"""


# 12. fromRequires / toRequires ----------------------------------------------------------------------------

REQUIRES = CNP_HEAD + """\
  ingress:
    - fromRequires:
        - matchLabels: {env: prod}
  egress:
    - toRequires:
        - matchLabels: {env: prod}
"""


def test_requires_peers_are_reported_but_never_rewritten(in_tmp: Path) -> None:
    write_files(in_tmp, {"r.yaml": REQUIRES, "d.yaml": ALL})
    data = scan_json("--decisions", "d.yaml", "r.yaml")
    assert [(f["rule"], f["path"], f["fixable"]) for f in data["findings"]] == [
        ("requires-removed", "spec.ingress[0].fromRequires", False),
        ("implicit-cluster-selector", "spec.ingress[0].fromRequires[0]", False),
        ("requires-removed", "spec.egress[0].toRequires", False),
        ("implicit-cluster-selector", "spec.egress[0].toRequires[0]", False),
    ]
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "r.yaml")
    assert result.exit_code == 1
    assert result.stderr.endswith("rewrote 0 files (0 changes); 2 findings left: 2 requires-removed\n")
    assert Path("r.yaml").read_text(encoding="utf-8") == REQUIRES


def test_requires_peer_next_to_an_endpoints_peer_only_the_endpoints_peer_is_rewritten(in_tmp: Path) -> None:
    before = CNP_HEAD + """\
  ingress:
    - fromRequires:
        - matchLabels: {env: prod}
      fromEndpoints:
        - matchLabels: {app: x}
"""
    write_files(in_tmp, {"r.yaml": before, "d.yaml": ALL})
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "r.yaml")
    assert result.exit_code == 1
    assert result.stderr.endswith("rewrote 1 file (1 change: 1 all-clusters); 1 finding left: 1 requires-removed\n")
    assert Path("r.yaml").read_text(encoding="utf-8") == before + EXISTS_BLOCK


# 13. Merge keys -------------------------------------------------------------------------------------------

def test_merge_key_elsewhere_in_the_rule_does_not_block_the_selector(in_tmp: Path) -> None:
    before = CNP_HEAD + """\
  egress:
    - <<: {toPorts: [{ports: [{port: "53"}]}]}
      toEndpoints:
        - matchLabels: {app: dns}
"""
    write_files(in_tmp, {"m.yaml": before, "d.yaml": ALL})
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "m.yaml")
    assert result.exit_code == 0
    assert result.stderr == "rewrote m.yaml (1 change)\nrewrote 1 file (1 change: 1 all-clusters); 0 findings left\n"
    assert Path("m.yaml").read_text(encoding="utf-8") == before + EXISTS_BLOCK


@pytest.mark.parametrize("extra", ["", "          matchLabels: {app: x}\n"], ids=["merge-only", "with-own-labels"])
def test_selector_whose_expressions_come_from_a_merge_key_is_refused(in_tmp: Path, extra: str) -> None:
    before = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: b}
spec:
  endpointSelector: &sel
    matchExpressions:
      - {key: app, operator: In, values: [db]}
  ingress:
    - fromEndpoints:
        - <<: *sel
""" + extra
    write_files(in_tmp, {"s.yaml": before, "d.yaml": ALL})
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "s.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "s.yaml:10: error: not rewritten: matchExpressions comes from a YAML merge key (<<); expand it by hand\n")
    assert Path("s.yaml").read_text(encoding="utf-8") == before


# 14. Indentation habits come from the block around the change ---------------------------------------------

MIXED_OFFSETS = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a
  namespace: b
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: x
  egress:
    -   toEndpoints:
            -   matchLabels:
                    app: y
"""

# The egress item follows the dash offset (4), mapping indentation (4) and dash padding (`-   `) of its block.
MIXED_OFFSETS_AFTER = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: a
  namespace: b
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: x
      matchExpressions:
      - key: io.cilium.k8s.policy.cluster
        operator: Exists
  egress:
    -   toEndpoints:
            -   matchLabels:
                    app: y
                matchExpressions:
                    -   key: io.cilium.k8s.policy.cluster
                        operator: Exists
"""


def test_indentation_follows_each_block(in_tmp: Path) -> None:
    write_files(in_tmp, {"i.yaml": MIXED_OFFSETS, "d.yaml": ALL})
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "i.yaml")
    assert result.exit_code == 0
    assert result.stderr == "rewrote i.yaml (2 changes)\nrewrote 1 file (2 changes: 2 all-clusters); 0 findings left\n"
    assert Path("i.yaml").read_text(encoding="utf-8") == MIXED_OFFSETS_AFTER


# 15. A write that fails -----------------------------------------------------------------------------------

LEFT_AFTER_FAILED_WRITE = (
    "good.yaml:8: implicit-cluster-selector b/g spec.ingress[0].fromEndpoints[0] fromEndpoints peer "
    "matches only the local cluster on Cilium 1.19 (names no cluster) [all-clusters]\n"
    "rewrote 0 files (0 changes); 1 finding left: 1 implicit-cluster-selector; 1 error\n")


def test_failed_write_is_an_error_and_nothing_counts_as_rewritten(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(in_tmp, {"good.yaml": GOOD, "d.yaml": ALL})

    def refuse(path: Path, data: bytes, sync: bool = True) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(codemod.sources, "write_atomically", refuse)
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "good.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    # the selector stays implicit in the unwritten file, so it is still listed as left
    assert result.stderr == (f"good.yaml: error: not written: {os.strerror(errno.EACCES)}\n"
                             + LEFT_AFTER_FAILED_WRITE)
    assert Path("good.yaml").read_text(encoding="utf-8") == GOOD


def test_file_changed_on_disk_since_it_was_read_is_not_overwritten(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(in_tmp, {"good.yaml": GOOD, "d.yaml": ALL})
    concurrent = GOOD + "# edited by someone else meanwhile\n"
    real = codemod.engine.rewrite_text

    def edit_meanwhile(*args: Any, **kwargs: Any) -> str | None:
        new: str | None = real(*args, **kwargs)
        Path("good.yaml").write_text(concurrent, encoding="utf-8")
        return new

    monkeypatch.setattr(codemod.engine, "rewrite_text", edit_meanwhile)
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "good.yaml")
    assert result.exit_code == 2
    assert result.stderr == ("good.yaml: error: not written: changed on disk since it was read; not overwritten\n"
                             + LEFT_AFTER_FAILED_WRITE)
    assert Path("good.yaml").read_text(encoding="utf-8") == concurrent
