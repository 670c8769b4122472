"""What `scan` reports, case by case, against shared/docs/cilium-facts.md §1 (and §2 for inspect-json).

Every case writes a small manifest to a temporary folder, runs the real CLI (`scan --format json`) and
compares the exact set of (rule, path) findings; a few cases also pin the other fields of a finding.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import invoke, write_files

ICS = "implicit-cluster-selector"
WILDCARD = "invalid-cluster-wildcard"
REQUIRES = "requires-removed"
SERVICES = "to-services-local"

Pairs = set[tuple[str, str]]


# --------------------------------------------------------------------------------------------- helpers


pytestmark = pytest.mark.usefixtures("in_tmp")
write = write_files


def scan_json(*paths: str) -> tuple[int, dict[str, Any]]:
    result = invoke("scan", "--format", "json", *paths)
    data: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, data


def pairs(data: dict[str, Any]) -> Pairs:
    return {(f["rule"], f["path"]) for f in data["findings"]}


def block(text: str, indent: int) -> str:
    return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * indent) + "\n"


def cnp(spec: str, kind: str = "CiliumNetworkPolicy", api: str = "cilium.io/v2", key: str = "spec") -> str:
    """A namespaced Cilium policy `ns/p` whose `spec` (or `specs`) body is `spec`."""
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: p\n  namespace: ns\n{key}:\n" + block(spec, 2)


def knp(spec: str, api: str = "networking.k8s.io/v1") -> str:
    return f"apiVersion: {api}\nkind: NetworkPolicy\nmetadata:\n  name: k\n  namespace: ns\nspec:\n" + block(spec, 2)


def peer_rule(section: str, field: str, selector: str = "{}") -> str:
    """A Cilium spec with one rule in `section` holding one peer selector under `field`."""
    return f"endpointSelector: {{}}\n{section}:\n- {field}:\n  - {selector}\n"


def sel(text: str) -> str:
    """A spec with one ingress fromEndpoints peer written as a block mapping."""
    return "endpointSelector: {}\ningress:\n- fromEndpoints:\n  - " + block(text, 4).lstrip()


# ------------------------------------------------------------------------------------- the case table

CASES: list[Any] = []


def case(case_id: str, text: str, expected: Pairs) -> None:
    CASES.append(pytest.param(text, expected, id=case_id))


# Every peer field in every section it belongs to.
for _section, _field in [
    ("ingress", "fromEndpoints"), ("ingressDeny", "fromEndpoints"),
    ("egress", "toEndpoints"), ("egressDeny", "toEndpoints"),
    ("ingress", "fromNodes"), ("ingressDeny", "fromNodes"),
    ("egress", "toNodes"), ("egressDeny", "toNodes"),
]:
    case(f"cnp-{_section}-{_field}", cnp(peer_rule(_section, _field, "{matchLabels: {app: a}}")),
         {(ICS, f"spec.{_section}[0].{_field}[0]")})

for _section, _field in [
    ("ingress", "fromRequires"), ("ingressDeny", "fromRequires"),
    ("egress", "toRequires"), ("egressDeny", "toRequires"),
]:
    case(f"cnp-{_section}-{_field}-also-removed", cnp(peer_rule(_section, _field, "{matchLabels: {env: prod}}")),
         {(ICS, f"spec.{_section}[0].{_field}[0]"), (REQUIRES, f"spec.{_section}[0].{_field}")})

case("requires-explicit-still-removed",
     cnp(peer_rule("ingress", "fromRequires", "{matchLabels: {io.cilium.k8s.policy.cluster: east}}")),
     {(REQUIRES, "spec.ingress[0].fromRequires")})
case("requires-empty-list-is-nothing", cnp("endpointSelector: {}\ningress:\n- fromRequires: []\n"), set())

# Subjects and non-peer fields.
case("subject-endpointSelector-empty", cnp("endpointSelector: {}\ningress:\n- fromEntities: [world]\n"), set())
case("subject-nodeSelector-empty", cnp("nodeSelector: {}\ningress:\n- fromEntities: [cluster, all]\n"), set())
case("non-peer-fields", cnp("""
    endpointSelector: {matchLabels: {app: a}}
    ingress:
    - fromCIDR: [10.0.0.0/8]
      fromCIDRSet: [{cidr: 10.0.0.0/8}]
      fromEntities: [remote-node]
      toPorts: [{ports: [{port: "80", protocol: TCP}]}]
    egress:
    - toCIDR: [192.168.0.0/16]
      toCIDRSet: [{cidrGroupRef: office}]
      toEntities: [world]
      toFQDNs: [{matchName: example.com}]
      toGroups: [{aws: {securityGroupsIds: [sg-1]}}]
      toPorts:
      - ports: [{port: "53", protocol: UDP}]
        rules: {dns: [{matchPattern: "*"}]}
    """), set())

# When a Cilium peer names the cluster.
case("matchLabels-cluster-key", cnp(sel("matchLabels: {app: a, io.cilium.k8s.policy.cluster: east}")), set())
case("matchLabels-k8s-prefix", cnp(sel('matchLabels: {"k8s:io.cilium.k8s.policy.cluster": east}')), set())
case("matchLabels-any-prefix", cnp(sel('matchLabels: {"any:io.cilium.k8s.policy.cluster": east}')), set())
case("matchLabels-unspec-prefix-affected", cnp(sel('matchLabels: {"unspec:io.cilium.k8s.policy.cluster": east}')),
     {(ICS, "spec.ingress[0].fromEndpoints[0]")})
case("matchLabels-cni-prefix-affected", cnp(sel('matchLabels: {"cni:io.cilium.k8s.policy.cluster": east}')),
     {(ICS, "spec.ingress[0].fromEndpoints[0]")})
for _op, _values in [("In", "[east]"), ("NotIn", "[west]"), ("Exists", None), ("DoesNotExist", None)]:
    _tail = f", values: {_values}" if _values else ""
    case(f"matchExpressions-{_op}", cnp(sel(f"matchExpressions: [{{key: io.cilium.k8s.policy.cluster, "
                                            f"operator: {_op}{_tail}}}]")), set())
case("matchExpressions-k8s-prefix", cnp(sel("""
    matchLabels: {app: a}
    matchExpressions:
    - {key: app, operator: Exists}
    - key: k8s:io.cilium.k8s.policy.cluster
      operator: Exists
    """)), set())
case("matchExpressions-other-key-affected", cnp(sel("matchExpressions: [{key: app, operator: In, values: [a]}]")),
     {(ICS, "spec.ingress[0].fromEndpoints[0]")})
case("matchExpressions-unspec-prefix-affected",
     cnp(sel("matchExpressions: [{key: 'unspec:io.cilium.k8s.policy.cluster', operator: Exists}]")),
     {(ICS, "spec.ingress[0].fromEndpoints[0]")})
case("label-value-never-checked", cnp(sel("matchLabels: {io.cilium.k8s.policy.cluster: whatever}")), set())
case("cnp-empty-value-still-explicit", cnp(sel('matchLabels: {io.cilium.k8s.policy.cluster: ""}')), set())
case("cnp-null-value-still-explicit", cnp(sel("matchLabels: {io.cilium.k8s.policy.cluster: null}")), set())
case("reserved-key-left-alone", cnp(sel('matchLabels: {"reserved:host": ""}')), set())
case("reserved-key-in-expression-left-alone",
     cnp(sel("matchExpressions: [{key: 'reserved:kube-apiserver', operator: Exists}]")), set())
case("reserved-toNodes-left-alone", cnp(peer_rule("egress", "toNodes", '{matchLabels: {"reserved:host": ""}}')),
     set())
case("dotted-reserved-world-is-ordinary", cnp(sel('matchLabels: {"reserved.world": ""}')),
     {(ICS, "spec.ingress[0].fromEndpoints[0]")})
case("empty-selector-block", cnp("endpointSelector: {}\ningress:\n- fromEndpoints:\n  - {}\n"),
     {(ICS, "spec.ingress[0].fromEndpoints[0]")})
case("empty-selector-flow", cnp("endpointSelector: {}\negress:\n- toEndpoints: [{}]\n"),
     {(ICS, "spec.egress[0].toEndpoints[0]")})
case("peer-list-absent", cnp("endpointSelector: {}\ningress:\n- {}\negress:\n- toPorts: [{ports: [{port: '80'}]}]\n"),
     set())
case("peer-list-null", cnp("endpointSelector: {}\ningress:\n- fromEndpoints: null\n- fromNodes:\n"), set())
case("peer-list-empty", cnp("endpointSelector: {}\ningress:\n- fromEndpoints: []\negress:\n- toNodes: []\n"), set())
case("only-the-implicit-peer-of-several", cnp("""
    endpointSelector: {}
    ingress:
    - fromEndpoints:
      - matchLabels: {io.cilium.k8s.policy.cluster: east}
      - matchLabels: {app: b}
    - fromEndpoints:
      - {}
    """), {(ICS, "spec.ingress[0].fromEndpoints[1]"), (ICS, "spec.ingress[1].fromEndpoints[0]")})
case("alias-of-subject-into-peer", cnp("""
    endpointSelector: &self {matchLabels: {app: a}}
    ingress:
    - fromEndpoints: [*self]
    """), {(ICS, "spec.ingress[0].fromEndpoints[0]")})

# Wildcards: explicit (any value), but invalid.
case("wildcard-value", cnp(sel('matchLabels: {io.cilium.k8s.policy.cluster: "*"}')),
     {(WILDCARD, "spec.ingress[0].fromEndpoints[0]")})
case("wildcard-value-k8s-prefix", cnp(sel('matchLabels: {app: a, "k8s:io.cilium.k8s.policy.cluster": "*"}')),
     {(WILDCARD, "spec.ingress[0].fromEndpoints[0]")})
case("wildcard-in-expression-values",
     cnp(sel("matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: In, values: ['*']}]")),
     {(WILDCARD, "spec.ingress[0].fromEndpoints[0]")})

# spec and specs[i].
case("spec-and-specs", """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints: [{}]
specs:
- endpointSelector: {}
  egress:
  - toEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: east}}]
- endpointSelector: {}
  egressDeny:
  - toEndpoints: [{matchLabels: {app: x}}]
""", {(ICS, "spec.ingress[0].fromEndpoints[0]"), (ICS, "specs[1].egressDeny[0].toEndpoints[0]")})
case("specs-only", cnp("""
    - endpointSelector: {}
      ingress:
      - fromNodes: [{}]
    """, key="specs"), {(ICS, "specs[0].ingress[0].fromNodes[0]")})

# Clusterwide, lists.
case("ccnp", cnp("nodeSelector: {}\ningress:\n- fromNodes: [{}]\n", kind="CiliumClusterwideNetworkPolicy"),
     {(ICS, "spec.ingress[0].fromNodes[0]")})
case("kind-List-items", """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c}
- apiVersion: cilium.io/v2
  kind: CiliumNetworkPolicy
  metadata: {name: p, namespace: ns}
  spec:
    endpointSelector: {}
    ingress:
    - fromEndpoints: [{}]
""", {(ICS, "items[1].spec.ingress[0].fromEndpoints[0]")})
case("kind-CiliumNetworkPolicyList-items", """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicyList
items:
- apiVersion: cilium.io/v2
  kind: CiliumNetworkPolicy
  metadata: {name: p, namespace: ns}
  spec:
    endpointSelector: {}
    egress:
    - toEndpoints: [{}]
""", {(ICS, "items[0].spec.egress[0].toEndpoints[0]")})

# toServices.
case("toServices", cnp("""
    endpointSelector: {}
    egress:
    - toServices:
      - k8sService: {serviceName: db, namespace: data}
      - k8sServiceSelector: {selector: {matchLabels: {app: db}}, namespace: data}
    egressDeny:
    - toServices:
      - k8sServiceSelector: {selector: {matchLabels: {app: x}}}
    """), {(SERVICES, "spec.egress[0].toServices[0]"), (SERVICES, "spec.egress[0].toServices[1]"),
           (SERVICES, "spec.egressDeny[0].toServices[0]")})

# Not a policy.
case("deployment-lookalike", """\
# not a NetworkPolicy, only shaped like one
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints: [{}]
    from: [{podSelector: {}}]
""", set())
case("wrong-group-cilium-kind", cnp(sel("{}"), api="example.com/v1"), set())
case("wrong-group-networkpolicy", knp("podSelector: {}\ningress:\n- from: [{podSelector: {}}]\n", api="cilium.io/v2"),
     set())

# NetworkPolicy (networking.k8s.io/v1).
case("knp-podSelector-peer", knp("podSelector: {}\ningress:\n- from:\n  - podSelector: {matchLabels: {app: a}}\n"),
     {(ICS, "spec.ingress[0].from[0]")})
case("knp-lone-namespaceSelector", knp("""
    podSelector: {}
    egress:
    - to:
      - namespaceSelector: {matchLabels: {team: x}}
    """), {(ICS, "spec.egress[0].to[0]")})
case("knp-both-selectors", knp("""
    podSelector: {}
    ingress:
    - from:
      - namespaceSelector: {}
        podSelector: {matchLabels: {app: a}}
    """), {(ICS, "spec.ingress[0].from[0]")})
case("knp-cluster-key-in-namespaceSelector-still-affected", knp("""
    podSelector: {}
    ingress:
    - from:
      - namespaceSelector: {matchLabels: {io.cilium.k8s.policy.cluster: east}}
    """), {(ICS, "spec.ingress[0].from[0]")})
case("knp-empty-or-missing-from", knp("""
    podSelector: {}
    policyTypes: [Ingress, Egress]
    ingress:
    - {}
    - from: []
    - ports: [{port: 80}]
    egress:
    - to: null
    """), set())
case("knp-egress-ipBlock-only", knp("podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8}\n"), set())
case("knp-matchExpressions-exact-key", knp("""
    podSelector: {}
    ingress:
    - from:
      - podSelector:
          matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: NotIn, values: [west]}]
    """), set())
case("knp-matchLabels-non-empty-value", knp("""
    podSelector: {}
    ingress:
    - from:
      - podSelector: {matchLabels: {io.cilium.k8s.policy.cluster: east}}
        namespaceSelector: {}
    """), set())
case("knp-matchLabels-empty-value-affected", knp("""
    podSelector: {}
    ingress:
    - from:
      - podSelector: {matchLabels: {io.cilium.k8s.policy.cluster: ""}}
    """), {(ICS, "spec.ingress[0].from[0]")})
case("knp-k8s-prefix-is-no-prefix-affected", knp("""
    podSelector: {}
    ingress:
    - from:
      - podSelector:
          matchExpressions: [{key: "k8s:io.cilium.k8s.policy.cluster", operator: Exists}]
    """), {(ICS, "spec.ingress[0].from[0]")})
case("knp-wildcard", knp("""
    podSelector: {}
    ingress:
    - from:
      - podSelector: {matchLabels: {io.cilium.k8s.policy.cluster: "*"}}
    """), {(WILDCARD, "spec.ingress[0].from[0]")})


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_detects(tmp_path: Path, text: str, expected: Pairs) -> None:
    write(tmp_path, {"policy.yaml": text})
    code, data = scan_json("policy.yaml")
    assert data["errors"] == [] and data["skipped"] == []
    assert pairs(data) == expected
    assert all(f["file"] == "policy.yaml" for f in data["findings"])
    if not expected:
        assert code == 0
    elif {rule for rule, _ in expected} != {WILDCARD}:
        assert code == 1  # (a wildcard alone: see test_exit_1_with_only_a_wildcard_finding)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_line_numbers_and_fields(tmp_path: Path, newline: str) -> None:
    text = """\
# leading comment
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-policy}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: a}
  egressDeny:
  - toEndpoints: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: cw
  namespace: ignored-for-clusterwide
spec:
  nodeSelector: {}
  ingressDeny:
  - fromNodes:
    - {}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: no-ns
spec:
  endpointSelector: {}
  egress:
  - toServices:
    - k8sService: {serviceName: db, namespace: data}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k, namespace: shop}
spec:
  podSelector: {}
  egress:
  - to:
    - namespaceSelector: {}
"""
    write(tmp_path, {"multi.yaml": text.replace("\n", newline)})
    code, data = scan_json("multi.yaml")
    assert code == 1
    got = [{k: f[k] for k in ("rule", "document", "line", "kind", "namespace", "name", "path", "direction", "deny")}
           for f in data["findings"]]
    assert got == [
        {"rule": ICS, "document": 1, "line": 15, "kind": "CiliumNetworkPolicy", "namespace": "shop", "name": "web",
         "path": "spec.ingress[0].fromEndpoints[0]", "direction": "ingress", "deny": False},
        {"rule": ICS, "document": 1, "line": 17, "kind": "CiliumNetworkPolicy", "namespace": "shop", "name": "web",
         "path": "spec.egressDeny[0].toEndpoints[0]", "direction": "egress", "deny": True},
        {"rule": ICS, "document": 2, "line": 28, "kind": "CiliumClusterwideNetworkPolicy", "namespace": None,
         "name": "cw", "path": "spec.ingressDeny[0].fromNodes[0]", "direction": "ingress", "deny": True},
        {"rule": SERVICES, "document": 3, "line": 38, "kind": "CiliumNetworkPolicy", "namespace": None,
         "name": "no-ns", "path": "spec.egress[0].toServices[0]", "direction": "egress", "deny": False},
        {"rule": ICS, "document": 4, "line": 47, "kind": "NetworkPolicy", "namespace": "shop", "name": "k",
         "path": "spec.egress[0].to[0]", "direction": "egress", "deny": False},
    ]
    assert all(isinstance(f["message"], str) and f["message"] for f in data["findings"])


def test_requires_finding_points_at_the_field(tmp_path: Path) -> None:
    write(tmp_path, {"r.yaml": cnp(peer_rule("egress", "toRequires", "{matchLabels: {env: prod}}"))})
    _, data = scan_json("r.yaml")
    by_rule = {f["rule"]: f for f in data["findings"]}
    assert set(by_rule) == {ICS, REQUIRES}
    # metadata is 5 lines, `spec:` line 6, endpointSelector 7, `egress:` 8, `- toRequires:` 9, the peer 10.
    assert by_rule[REQUIRES]["line"] == 9
    assert by_rule[ICS]["line"] == 10
    assert by_rule[ICS]["fixable"] is False  # the field is gone in 1.19: requires-removed, not a label, fixes it
    assert by_rule[REQUIRES]["fixable"] is False


def test_ingress_ipblock_only_peer_is_reported_never_rewritten(tmp_path: Path) -> None:
    """§1.2: an ipBlock peer carries no cluster selector (never an implicit-cluster-selector finding);
    ingress ipBlock-only peers hit the 1.18/1.19 agent quirk: "Report, never rewrite, those"."""
    write(tmp_path, {"ip.yaml": knp("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n")})
    _, data = scan_json("ip.yaml")
    assert [f for f in data["findings"] if f["rule"] == ICS] == []
    reported = [f for f in data["findings"] if f["path"] == "spec.ingress[0].from[0]"]
    assert len(reported) == 1
    assert reported[0]["fixable"] is False


def test_ipblock_beside_selector_peers(tmp_path: Path) -> None:
    write(tmp_path, {"ip.yaml": knp("""
        podSelector: {}
        egress:
        - to:
          - ipBlock: {cidr: 10.0.0.0/8}
          - podSelector: {}
        """)})
    _, data = scan_json("ip.yaml")
    assert pairs(data) == {(ICS, "spec.egress[0].to[1]")}


# ------------------------------------------------------------------------------ files, exit statuses


AFFECTED = cnp(sel("{}"))
CLEAN = cnp(sel("matchLabels: {io.cilium.k8s.policy.cluster: east}"))


def test_exit_0_when_nothing_found(tmp_path: Path) -> None:
    write(tmp_path, {"clean.yaml": CLEAN, "other.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
    code, data = scan_json(".")
    assert code == 0
    assert data == {"findings": [], "errors": [], "skipped": []}


def test_exit_1_with_findings(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": AFFECTED, "clean.yaml": CLEAN})
    code, data = scan_json(".")
    assert code == 1
    assert {(f["file"], f["path"]) for f in data["findings"]} == {("a.yaml", "spec.ingress[0].fromEndpoints[0]")}


def test_exit_1_with_only_a_wildcard_finding(tmp_path: Path) -> None:
    """A `"*"` cluster value is broken (the API server rejects it): a finding, so `scan` exits 1 —
    the brief's "1 when findings" and cli.py's "1 findings left (… or another rule's finding)"."""
    write(tmp_path, {"w.yaml": cnp(sel('matchLabels: {io.cilium.k8s.policy.cluster: "*"}'))})
    code, data = scan_json("w.yaml")
    assert pairs(data) == {(WILDCARD, "spec.ingress[0].fromEndpoints[0]")}
    assert code == 1


def test_exit_2_on_parse_error_other_files_still_scanned(tmp_path: Path) -> None:
    broken = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: [broken\nspec: {}\n"
    write(tmp_path, {"a-broken.yaml": broken, "b.yaml": AFFECTED})
    code, data = scan_json(".")
    assert code == 2
    assert len(data["errors"]) == 1
    error = data["errors"][0]
    assert error["file"] == "a-broken.yaml"
    assert isinstance(error["line"], int) and 4 <= error["line"] <= 6
    assert error["reason"]
    assert pairs(data) == {(ICS, "spec.ingress[0].fromEndpoints[0]")}
    assert data["findings"][0]["file"] == "b.yaml"


def test_exit_2_on_duplicate_key_in_a_policy(tmp_path: Path) -> None:
    text = AFFECTED.replace("  namespace: ns\n", "  namespace: ns\n  name: again\n")
    write(tmp_path, {"dup.yaml": text})
    code, data = scan_json("dup.yaml")
    assert code == 2
    assert [(e["file"], e["line"]) for e in data["errors"]] == [("dup.yaml", 6)]
    assert "name" in data["errors"][0]["reason"]


def test_template_is_skipped_with_a_reason(tmp_path: Path) -> None:
    template = AFFECTED.replace("namespace: ns", "namespace: {{ .Release.Namespace }}")
    write(tmp_path, {"chart/templates/cnp.yaml": template})
    _, data = scan_json(".")
    assert data["findings"] == [] and data["errors"] == []
    assert len(data["skipped"]) == 1
    assert data["skipped"][0]["file"] == "chart/templates/cnp.yaml"
    assert "template" in data["skipped"][0]["reason"]


def test_flux_substitution_is_yaml_not_a_template(tmp_path: Path) -> None:
    write(tmp_path, {"flux.yaml": AFFECTED.replace("namespace: ns", "namespace: ${NAMESPACE}")})
    code, data = scan_json(".")
    assert code == 1 and data["skipped"] == []
    assert [f["namespace"] for f in data["findings"]] == ["${NAMESPACE}"]


def test_gitignored_and_git_dir_not_scanned(tmp_path: Path) -> None:
    write(tmp_path, {
        ".git/HEAD": "ref: refs/heads/main\n",
        ".git/policy.yaml": AFFECTED,
        ".gitignore": "ignored/\n*.gen.yaml\n",
        "ignored/cnp.yaml": AFFECTED,
        "apps/out.gen.yaml": AFFECTED,
        "apps/kept.yaml": AFFECTED,
    })
    code, data = scan_json(".")
    assert code == 1
    assert {f["file"] for f in data["findings"]} == {"apps/kept.yaml"}
    # A file named on the command line is always taken.
    _, named = scan_json("ignored/cnp.yaml")
    assert {f["file"] for f in named["findings"]} == {"ignored/cnp.yaml"}


def test_text_format(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": AFFECTED, "b.yaml": cnp("""
        endpointSelector: {}
        egress:
        - toServices: [{k8sService: {serviceName: db, namespace: data}}]
        """)})
    result = invoke("scan", "--format", "text", "--color", "never", ".")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == ("a.yaml:10: implicit-cluster-selector ns/p spec.ingress[0].fromEndpoints[0] "
                        "fromEndpoints peer matches only the local cluster on Cilium 1.19 (names no cluster)")
    pattern = re.compile(r"^b\.yaml:9: to-services-local ns/p spec\.egress\[0\]\.toServices\[0\] \S.*$")
    assert [line for line in lines if line.startswith("b.yaml")] and pattern.match(
        next(line for line in lines if line.startswith("b.yaml")))
    assert lines[-1] == ("Found 2 findings in 2 files: 1 implicit-cluster-selector, 1 to-services-local "
                         "(2 policies in 2 files).")


def test_text_format_summary_when_clean(tmp_path: Path) -> None:
    write(tmp_path, {"clean.yaml": CLEAN})
    result = invoke("scan", "--color", "never", ".")
    assert result.exit_code == 0
    assert result.stdout == "No affected selectors or other findings (1 policy in 1 file).\n"


# ------------------------------------------------------------------------------------- inspect-json


def meta_policy(kind: str, name: str, namespace: str | None, peer: str) -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    if kind == "NetworkPolicy":
        return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n{ns}"
                f"spec:\n  podSelector: {{}}\n  ingress:\n  - from:\n    - podSelector: {peer}\n")
    return (f"apiVersion: cilium.io/v2\nkind: {kind}\nmetadata:\n  name: {name}\n{ns}"
            f"spec:\n  endpointSelector: {{}}\n  ingress:\n  - fromEndpoints:\n    - {peer}\n")


def test_inspect_json_exact_bytes(tmp_path: Path) -> None:
    write(tmp_path, {
        "a/affected.yaml": meta_policy("CiliumNetworkPolicy", "affected", "team", "{}"),
        "a/fine.yaml": meta_policy("CiliumNetworkPolicy", "fine", "team",
                                   "{matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]}"),
        "b/ccnp.yaml": meta_policy("CiliumClusterwideNetworkPolicy", "cw", None, "{matchLabels: {app: a}}"),
        "c/knp.yaml": meta_policy("NetworkPolicy", "np", "team", "{matchLabels: {io.cilium.k8s.policy.cluster: x}}"),
    })
    result = invoke("scan", "--format", "inspect-json", ".")
    assert result.stdout == (
        '{\n'
        ' "ciliumClusterWideNetworkPolicies": {\n'
        '  "/cw": true\n'
        ' },\n'
        ' "ciliumNetworkPolicies": {\n'
        '  "team/affected": true,\n'
        '  "team/fine": false\n'
        ' },\n'
        ' "networkPolicies": {\n'
        '  "team/np": false\n'
        ' }\n'
        '}\n'
    )
    assert result.exit_code == 1


def test_inspect_json_omits_empty_maps(tmp_path: Path) -> None:
    write(tmp_path, {"np.yaml": meta_policy("NetworkPolicy", "np", "team", "{}")})
    result = invoke("scan", "--format", "inspect-json", ".")
    assert result.stdout == '{\n "networkPolicies": {\n  "team/np": true\n }\n}\n'


def test_inspect_json_empty_object_when_no_policies(tmp_path: Path) -> None:
    write(tmp_path, {"cm.yaml": "# NetworkPolicy lives elsewhere\napiVersion: v1\nkind: ConfigMap\n"})
    result = invoke("scan", "--format", "inspect-json", ".")
    assert result.stdout == "{}\n"
    assert result.exit_code == 0
