"""The decision file: loading, validation errors, and how `scan --decisions` applies it.

Format (first match wins; every given match field must match; all optional):

    version: 1
    default: undecided | local | all-clusters
    decisions:
      - match: {file, kind, namespace, name, path, direction, deny}
        action: all-clusters | clusters | local | undecided
        clusters: [east, west]     # with action: clusters only
        reason: "..."
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from codemod.decisions import Decision, DecisionFileError, Decisions, Subject, load
from tests.conftest import invoke, write_files

ICS = "implicit-cluster-selector"

# --------------------------------------------------------------------------------------------- helpers


pytestmark = pytest.mark.usefixtures("in_tmp")
write = write_files


def cnp(kind: str, name: str, namespace: str | None, body: str) -> str:
    ns = f"  namespace: {namespace}\n" if namespace is not None else ""
    return (f"apiVersion: cilium.io/v2\nkind: {kind}\nmetadata:\n  name: {name}\n{ns}spec:\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n")


# One tree used by the matching tests. Every peer below is implicit (affected).
WEB = cnp("CiliumNetworkPolicy", "allow-web", "shop", """
    endpointSelector: {}
    ingress:
    - fromEndpoints:
      - {}
      - matchLabels: {app: b}
    ingressDeny:
    - fromEndpoints: [{}]
    egress:
    - toEndpoints: [{}]
    egressDeny:
    - toEndpoints: [{}]
    """)
DB = cnp("CiliumNetworkPolicy", "db", "shop", "endpointSelector: {}\ningress:\n- fromEndpoints: [{}]\n")
TOP = cnp("CiliumNetworkPolicy", "top", "tools", "endpointSelector: {}\ningress:\n- fromEndpoints: [{}]\n")
CW = cnp("CiliumClusterwideNetworkPolicy", "allow-cw", None, "endpointSelector: {}\ningress:\n- fromEndpoints: [{}]\n")
KNP = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-db, namespace: billing}
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: a}}
"""
TREE = {
    "apps/shop/web.yaml": WEB,
    "apps/shop/deep/db.yaml": DB,
    "apps/top.yaml": TOP,
    "other/knp.yaml": KNP,
    "cw.yaml": CW,
}

Key = tuple[str, str, str]  # (file, name, path)
W0 = ("apps/shop/web.yaml", "allow-web", "spec.ingress[0].fromEndpoints[0]")
W1 = ("apps/shop/web.yaml", "allow-web", "spec.ingress[0].fromEndpoints[1]")
WID = ("apps/shop/web.yaml", "allow-web", "spec.ingressDeny[0].fromEndpoints[0]")
WE = ("apps/shop/web.yaml", "allow-web", "spec.egress[0].toEndpoints[0]")
WED = ("apps/shop/web.yaml", "allow-web", "spec.egressDeny[0].toEndpoints[0]")
D0 = ("apps/shop/deep/db.yaml", "db", "spec.ingress[0].fromEndpoints[0]")
T0 = ("apps/top.yaml", "top", "spec.ingress[0].fromEndpoints[0]")
K0 = ("other/knp.yaml", "allow-db", "spec.ingress[0].from[0]")
C0 = ("cw.yaml", "allow-cw", "spec.ingress[0].fromEndpoints[0]")
ALL = {W0, W1, WID, WE, WED, D0, T0, K0, C0}


def decisions_file(body: str) -> str:
    return "version: 1\n" + textwrap.dedent(body).lstrip("\n")


def scan_with(decisions: str, *paths: str, name: str = "decisions.yaml") -> tuple[Result, dict[str, Any]]:
    result = invoke("scan", "--decisions", name, "--format", "json", *(paths or (".",)))
    data: dict[str, Any] = json.loads(result.stdout) if result.stdout else {}
    return result, data


def decided(data: dict[str, Any]) -> dict[Key, str]:
    return {(f["file"], f["name"], f["path"]): f["decision"] for f in data["findings"] if f["rule"] == ICS}


# ------------------------------------------------------------------------------ matching through the CLI

MATCH_CASES = [
    pytest.param('file: "apps/**/*.yaml"', {W0, W1, WID, WE, WED, D0, T0}, id="file-doublestar-any-depth"),
    pytest.param('file: "apps/*.yaml"', {T0}, id="file-star-one-folder"),
    pytest.param('file: "apps/shop/*.yaml"', {W0, W1, WID, WE, WED}, id="file-star-not-deeper"),
    pytest.param('file: "**/db.yaml"', {D0}, id="file-leading-doublestar"),
    pytest.param('file: "cw.yaml"', {C0}, id="file-exact"),
    pytest.param('file: "shop/*.yaml"', set(), id="file-relative-to-decision-folder-not-suffix"),
    pytest.param("kind: NetworkPolicy", {K0}, id="kind-networkpolicy"),
    pytest.param("kind: CiliumClusterwideNetworkPolicy", {C0}, id="kind-ccnp"),
    pytest.param("kind: CiliumNetworkPolicy", {W0, W1, WID, WE, WED, D0, T0}, id="kind-cnp"),
    pytest.param('namespace: "sh*"', {W0, W1, WID, WE, WED, D0}, id="namespace-glob"),
    pytest.param('namespace: "billing"', {K0}, id="namespace-exact"),
    pytest.param('namespace: ""', {C0}, id="namespace-empty-is-clusterwide"),
    pytest.param('name: "allow-*"', {W0, W1, WID, WE, WED, K0, C0}, id="name-glob"),
    pytest.param('name: "d?"', {D0}, id="name-glob-question-mark"),
    pytest.param('path: "spec.ingress[0].fromEndpoints[1]"', {W1}, id="path-exact"),
    pytest.param('path: "spec.ingress[0].fromEndpoints[0]"', {W0, D0, T0, C0}, id="path-exact-several-files"),
    pytest.param('path: "spec.ingress[0].fromEndpoints[*]"', set(), id="path-is-not-a-glob"),
    pytest.param("direction: egress", {WE, WED}, id="direction-egress"),
    pytest.param("direction: ingress", ALL - {WE, WED}, id="direction-ingress"),
    pytest.param("deny: true", {WID, WED}, id="deny-true"),
    pytest.param("deny: false", ALL - {WID, WED}, id="deny-false"),
    pytest.param("{kind: CiliumNetworkPolicy, namespace: shop, direction: ingress, deny: false}", {W0, W1, D0},
                 id="all-given-fields-must-match"),
    pytest.param('{file: "apps/**", name: "allow-*", path: "spec.egressDeny[0].toEndpoints[0]", deny: true}', {WED},
                 id="file-name-path-deny"),
    pytest.param("{}", ALL, id="empty-match-matches-everything"),
]


@pytest.mark.parametrize(("match", "matched"), MATCH_CASES)
def test_match_field(tmp_path: Path, match: str, matched: set[Key]) -> None:
    write(tmp_path, TREE)
    if match.startswith("{"):
        body = f"decisions:\n  - match: {match}\n    action: local\n"
    else:
        body = f"decisions:\n  - match:\n      {match}\n    action: local\n"
    write(tmp_path, {"decisions.yaml": decisions_file(body)})
    result, data = scan_with("decisions.yaml")
    assert result.exit_code == (0 if matched == ALL else 1)
    got = decided(data)
    assert set(got) == ALL
    assert {k for k, v in got.items() if v == "local"} == matched
    assert {k for k, v in got.items() if v != "local"} == ALL - matched
    assert all(v in ("local", "undecided") for v in got.values())


def test_file_glob_relative_to_the_decision_files_folder(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    write(tmp_path, {"apps/decisions.yaml": decisions_file("""
        decisions:
          - match: {file: "shop/*.yaml"}
            action: all-clusters
        """)})
    result = invoke("scan", "--decisions", "apps/decisions.yaml", "--format", "json", ".")
    got = decided(json.loads(result.stdout))
    assert {k for k, v in got.items() if v == "all-clusters"} == {W0, W1, WID, WE, WED}


def test_first_match_wins(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    write(tmp_path, {"decisions.yaml": decisions_file("""
        decisions:
          - match: {name: allow-web, deny: true}
            action: all-clusters
          - match: {name: allow-web}
            action: local
          - match: {namespace: "*"}
            action: clusters
            clusters: [east]
          - match: {}
            action: local
        """)})
    _, data = scan_with("decisions.yaml")
    got = decided(data)
    assert got == {W0: "local", W1: "local", WID: "all-clusters", WE: "local", WED: "all-clusters",
                   D0: "clusters", T0: "clusters", K0: "clusters", C0: "clusters"}


@pytest.mark.parametrize(("default", "expected", "exit_code"), [
    ("", "undecided", 1),
    ("default: undecided\n", "undecided", 1),
    ("default: local\n", "local", 0),
    ("default: all-clusters\n", "all-clusters", 0),
], ids=["absent", "undecided", "local", "all-clusters"])
def test_default(tmp_path: Path, default: str, expected: str, exit_code: int) -> None:
    write(tmp_path, TREE)
    write(tmp_path, {"decisions.yaml": decisions_file(default)})
    result, data = scan_with("decisions.yaml")
    assert set(decided(data).values()) == {expected}
    assert len(decided(data)) == len(ALL)
    assert result.exit_code == exit_code


def test_only_undecided_selectors_hold_exit_1(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    write(tmp_path, {"decisions.yaml": decisions_file("""
        default: local
        decisions:
          - match: {name: db}
            action: undecided
        """)})
    result, data = scan_with("decisions.yaml")
    assert result.exit_code == 1
    assert [k for k, v in decided(data).items() if v == "undecided"] == [D0]


def test_clusters_action_and_reason_in_json(tmp_path: Path) -> None:
    write(tmp_path, {"apps/shop/web.yaml": WEB})
    write(tmp_path, {"decisions.yaml": decisions_file("""
        default: local
        decisions:
          - match: {path: "spec.ingress[0].fromEndpoints[1]"}
            action: clusters
            clusters: [east, west]
            reason: "active/active"
        """)})
    result, data = scan_with("decisions.yaml")
    assert result.exit_code == 0
    by_path = {f["path"]: f for f in data["findings"]}
    chosen = by_path["spec.ingress[0].fromEndpoints[1]"]
    assert chosen["decision"] == "clusters"
    assert chosen["clusters"] == ["east", "west"]
    assert chosen["reason"] == "active/active"
    other = by_path["spec.ingress[0].fromEndpoints[0]"]
    assert other["decision"] == "local"
    assert "clusters" not in other and "reason" not in other


def test_without_decisions_no_decision_key(tmp_path: Path) -> None:
    write(tmp_path, {"apps/shop/web.yaml": WEB})
    result = invoke("scan", "--format", "json", ".")
    findings = json.loads(result.stdout)["findings"]
    assert findings and all("decision" not in f for f in findings)


def test_text_output_shows_the_decision(tmp_path: Path) -> None:
    write(tmp_path, {"apps/top.yaml": TOP})
    write(tmp_path, {"decisions.yaml": decisions_file("""
        decisions:
          - match: {name: top}
            action: clusters
            clusters: [east, west]
        """)})
    result = invoke("scan", "--decisions", "decisions.yaml", "--color", "never", ".")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("apps/top.yaml:9: implicit-cluster-selector tools/top spec.ingress[0].fromEndpoints[0] ")
    assert first.endswith(" [clusters [east, west]]")


# ------------------------------------------------------------------------------------ load() directly


def subject(tmp_path: Path, **overrides: Any) -> Subject:
    values: dict[str, Any] = {
        "file": tmp_path / "apps" / "shop" / "web.yaml", "kind": "CiliumNetworkPolicy", "namespace": "shop",
        "name": "allow-web", "path": "spec.ingress[0].fromEndpoints[0]", "direction": "ingress", "deny": False,
    }
    values.update(overrides)
    return Subject(**values)


def test_load_the_documented_example(tmp_path: Path) -> None:
    write(tmp_path, {"decisions.yaml": """\
version: 1
default: undecided          # undecided | local | all-clusters
decisions:                  # first match wins
  - match:                  # every given field must match; all optional
      file: "apps/**/*.yaml"
      kind: CiliumNetworkPolicy
      namespace: "shop"
      name: "allow-*"
      path: "spec.ingress[0].fromEndpoints[0]"
      direction: ingress
      deny: true
    action: all-clusters            # all-clusters | clusters | local | undecided
    reason: "..."
  - match: {namespace: shop}
    action: clusters
    clusters: [east, west]
"""})
    loaded = load(tmp_path / "decisions.yaml")
    assert isinstance(loaded, Decisions)
    assert loaded.default == Decision("undecided")
    assert [e.decision.action for e in loaded.entries] == ["all-clusters", "clusters"]
    both = Decision("clusters", ("east", "west"), None, 1)
    assert loaded.decide(subject(tmp_path, deny=True)) == Decision("all-clusters", (), "...", 0)
    assert loaded.decide(subject(tmp_path, deny=False)) == both
    assert loaded.decide(subject(tmp_path, deny=True, direction="egress")) == both
    assert loaded.decide(subject(tmp_path, deny=True, kind="NetworkPolicy")) == both
    assert loaded.decide(subject(tmp_path, deny=True, name="web")) == both
    assert loaded.decide(subject(tmp_path, deny=True, path="spec.ingress[0].fromEndpoints[1]")) == both
    assert loaded.decide(subject(tmp_path, deny=True, file=tmp_path / "web.yaml")) == both
    assert loaded.decide(subject(tmp_path, deny=True, file=tmp_path / "apps" / "web.yaml")).action == "all-clusters"
    assert loaded.decide(subject(tmp_path, deny=True, file=tmp_path / "apps" / "a" / "b" / "w.yaml")).action \
        == "all-clusters"
    assert loaded.decide(subject(tmp_path, deny=True, file=tmp_path / "apps" / "web.yml")) == both
    assert loaded.decide(subject(tmp_path, namespace="billing")) == Decision("undecided")
    assert Decision("clusters", ("east", "west")).label == "clusters [east, west]"


def test_load_file_outside_the_decision_folder_never_matches_a_file_glob(tmp_path: Path) -> None:
    write(tmp_path, {"sub/decisions.yaml": 'version: 1\ndecisions:\n  - match: {file: "**"}\n    action: local\n'})
    loaded = load(tmp_path / "sub" / "decisions.yaml")
    assert loaded.decide(subject(tmp_path, file=tmp_path / "sub" / "x" / "p.yaml")).action == "local"
    assert loaded.decide(subject(tmp_path, file=tmp_path / "p.yaml")).action == "undecided"


def test_load_raises_with_line(tmp_path: Path) -> None:
    write(tmp_path, {"d.yaml": "version: 1\ndecisions:\n  - match: {deny: yes}\n    action: local\n"})
    with pytest.raises(DecisionFileError) as caught:
        load(tmp_path / "d.yaml")
    assert caught.value.line == 3
    assert "deny" in caught.value.message


# --------------------------------------------------------------------------------------- bad files

# (id, text, expected line, words the one-line message must contain: the field and the problem)
BAD: list[tuple[str, str, int | None, tuple[str, ...]]] = [
    ("unknown-top-level-key", "version: 1\ndefualt: local\n", 2, ("defualt",)),
    ("unknown-match-key", "version: 1\ndecisions:\n  - match:\n      kind: NetworkPolicy\n      nme: x\n"
     "    action: local\n", 5, ("decisions[0].match", "nme")),
    ("unknown-entry-key", "version: 1\ndecisions:\n  - match: {}\n    action: local\n    note: x\n", 5,
     ("decisions[0]", "note")),
    ("wrong-type-name", "version: 1\ndecisions:\n  - match:\n      name: 3\n    action: local\n", 4,
     ("decisions[0].match.name", "string")),
    ("wrong-type-decisions", "version: 1\ndecisions:\n  match: {}\n", 2, ("decisions", "array")),
    ("bad-action", "version: 1\ndecisions:\n  - match: {}\n    action: global\n", 4,
     ("decisions[0].action", "global")),
    ("bad-default", "version: 1\ndefault: clusters\n", 2, ("default", "clusters")),
    ("missing-action", "version: 1\ndecisions:\n  - match: {}\n", 3, ("decisions[0]", "action")),
    ("clusters-action-without-clusters", "version: 1\ndecisions:\n  - match: {}\n    action: clusters\n", 3,
     ("decisions[0]", "clusters")),
    ("clusters-with-another-action", "version: 1\ndecisions:\n  - match: {}\n    action: all-clusters\n"
     "    clusters: [east]\n", 5, ("decisions[0]", "clusters")),
    ("cluster-name-star", 'version: 1\ndecisions:\n  - action: clusters\n    clusters: ["*"]\n', 4,
     ("decisions[0].clusters[0]", "*")),
    ("cluster-name-too-long", f"version: 1\ndecisions:\n  - action: clusters\n    clusters: [{'a' * 64}]\n", 4,
     ("decisions[0].clusters[0]",)),
    ("deny-yes-is-a-string", "version: 1\ndecisions:\n  - match:\n      deny: yes\n    action: local\n", 4,
     ("decisions[0].match.deny", "boolean")),
    ("duplicate-key", "version: 1\ndecisions:\n  - match:\n      kind: NetworkPolicy\n      kind: "
     "CiliumNetworkPolicy\n    action: local\n", 5, ("duplicate", "kind")),
    ("invalid-yaml", "version: 1\ndecisions:\n  - match: {kind: [\n    action: local\n", None, ()),
    ("missing-version", "default: local\n", 1, ("version",)),
    ("version-2", "default: local\nversion: 2\n", 2, ("version",)),
    ("version-string", 'version: "1"\n', 1, ("version",)),
]


def _error_line(stderr: str) -> tuple[int | None, str]:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    found = re.fullmatch(r"error: decisions\.yaml(?::(\d+))?: (.+)", lines[0])
    assert found, lines[0]
    return (int(found.group(1)) if found.group(1) else None), found.group(2)


@pytest.mark.parametrize(("text", "words"), [pytest.param(t, w, id=i) for i, t, _, w in BAD])
def test_bad_decision_file_exits_2_with_one_line_error(tmp_path: Path, text: str, words: tuple[str, ...]) -> None:
    write(tmp_path, {"p.yaml": TOP, "decisions.yaml": text})
    result = invoke("scan", "--decisions", "decisions.yaml", "--format", "json", "p.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    line, message = _error_line(result.stderr)
    assert line is not None
    for word in words:
        assert word in message


@pytest.mark.parametrize(("text", "line"), [pytest.param(t, n, id=i) for i, t, n, _ in BAD if n is not None])
def test_bad_decision_file_error_points_at_the_offending_line(tmp_path: Path, text: str, line: int) -> None:
    """The line is the offending key's (or, for a missing key, its mapping's), not an enclosing one."""
    write(tmp_path, {"p.yaml": TOP, "decisions.yaml": text})
    result = invoke("scan", "--decisions", "decisions.yaml", "--format", "json", "p.yaml")
    assert result.exit_code == 2
    assert _error_line(result.stderr)[0] == line


def test_missing_decision_file_exits_2(tmp_path: Path) -> None:
    write(tmp_path, {"p.yaml": TOP})
    result = invoke("scan", "--decisions", "decisions.yaml", "p.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: decisions.yaml")
    assert len(result.stderr.splitlines()) == 1


def test_valid_file_with_comments_and_anchors(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    write(tmp_path, {"decisions.yaml": """\
# reviewed in PR #12
version: 1
decisions:
  - match: &shop {namespace: shop}   # anchors are plain YAML
    action: local
  - match: *shop
    action: all-clusters
"""})
    result, data = scan_with("decisions.yaml")
    assert result.exit_code == 1
    got = decided(data)
    assert {k for k, v in got.items() if v == "local"} == {W0, W1, WID, WE, WED, D0}
    assert "all-clusters" not in got.values()
