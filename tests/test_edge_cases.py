"""Regressions found by probing outside the corpus: merge keys, templates inside strings, alias expansion of
Flux substitutions, NetworkPolicy cluster labels with empty values."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import invoke

ALL = "version: 1\ndefault: all-clusters\n"


pytestmark = pytest.mark.usefixtures("in_tmp")


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def scan(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(invoke("scan", "--format", "json", str(path)).stdout)
    return data


CNP_HEAD = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: b}
spec:
"""


def test_merge_key_carrying_the_cluster_makes_the_selector_explicit() -> None:
    path = Path("p.yaml")
    path.write_text(CNP_HEAD + textwrap.indent(textwrap.dedent("""\
        endpointSelector: {}
        ingress:
          - fromEndpoints:
              - <<: {matchLabels: {io.cilium.k8s.policy.cluster: east}}
        """), "  "), encoding="utf-8")
    assert scan(path)["findings"] == []


def test_merge_key_selector_is_found_but_never_widened(tmp_path: Path) -> None:
    text = CNP_HEAD + textwrap.indent(textwrap.dedent("""\
        endpointSelector: &sel
          matchExpressions: [{key: app, operator: In, values: [db]}]
        ingress:
          - fromEndpoints:
              - <<: *sel
        """), "  ")
    path = Path("p.yaml")
    path.write_text(text, encoding="utf-8")
    Path("d.yaml").write_text(ALL, encoding="utf-8")
    assert [f["path"] for f in scan(path)["findings"]] == ["spec.ingress[0].fromEndpoints[0]"]
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", "p.yaml")
    assert result.exit_code == 2
    assert "p.yaml:9: error: not rewritten:" in result.stderr and "merge key" in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_template_tags_inside_a_block_scalar_are_yaml_not_a_template() -> None:
    path = write("p.yaml", """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: alerts}
        data:
          slack.tmpl: |
            {{ define "slack.text" }}{{ .CommonAnnotations.summary }}{{ end }}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: a, namespace: b}
        spec:
          endpointSelector: {}
          ingress:
            - fromEndpoints: [{}]  # {{ not a template, a comment }}
        """)
    data = scan(path)
    assert data["skipped"] == []
    assert [(f["document"], f["path"]) for f in data["findings"]] == [(1, "spec.ingress[0].fromEndpoints[0]")]


@pytest.mark.parametrize("text", [
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: {{ .Release.Name }}\nspec: {}\n",
    "{{- if .Values.enabled }}\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n{{- end }}\n",
], ids=["parses-but-templated", "does-not-parse"])
def test_real_templates_are_skipped(text: str) -> None:
    Path("t.yaml").write_text(text, encoding="utf-8")
    data = scan(Path("t.yaml"))
    assert data["skipped"] == [{"file": "t.yaml", "reason": "template (Helm/Go/Jinja): not YAML until rendered"}]
    assert data["errors"] == []


def test_alias_expansion_quotes_flux_substitutions() -> None:
    text = CNP_HEAD + textwrap.indent(textwrap.dedent("""\
        endpointSelector: &sel
          matchLabels:
            app: ${APP_NAME}
            port: 8080
        ingress:
          - fromEndpoints: [*sel]
        """), "  ")
    Path("p.yaml").write_text(text, encoding="utf-8")
    Path("d.yaml").write_text(ALL, encoding="utf-8")
    assert invoke("rewrite", "--write", "--decisions", "d.yaml", "p.yaml").exit_code == 0
    new = Path("p.yaml").read_text(encoding="utf-8")
    assert new == text.replace(
        "[*sel]", '[{matchLabels: {app: "${APP_NAME}", port: 8080}, '
        "matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]}]")


NP = """\
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
        - podSelector:
            matchLabels:
              app: x
              io.cilium.k8s.policy.cluster:
"""


@pytest.mark.parametrize(("decision", "expected"), [
    (ALL, NP.replace('''            matchLabels:
              io.cilium.k8s.policy.cluster: ""
''', '''            matchLabels: {}
            matchExpressions:
              - key: io.cilium.k8s.policy.cluster
                operator: Exists
''').replace('''              io.cilium.k8s.policy.cluster:
''', '''            matchExpressions:
              - key: io.cilium.k8s.policy.cluster
                operator: Exists
''')),
    ("version: 1\ndefault: local\ndecisions:\n  - {action: clusters, clusters: [east]}\n",
     NP.replace('io.cilium.k8s.policy.cluster: ""', "io.cilium.k8s.policy.cluster: east")
       .replace("io.cilium.k8s.policy.cluster:\n", "io.cilium.k8s.policy.cluster: east\n")),
], ids=["all-clusters", "one-cluster"])
def test_networkpolicy_empty_cluster_label_is_replaced_not_kept(decision: str, expected: str) -> None:
    Path("n.yaml").write_text(NP, encoding="utf-8")
    Path("d.yaml").write_text(decision, encoding="utf-8")
    assert len(scan(Path("n.yaml"))["findings"]) == 2
    assert invoke("rewrite", "--write", "--decisions", "d.yaml", "n.yaml").exit_code == 0
    assert Path("n.yaml").read_text(encoding="utf-8") == expected
    assert scan(Path("n.yaml"))["findings"] == []


def test_write_keeps_the_file_mode_and_leaves_no_temporary_file() -> None:
    text = CNP_HEAD + "  endpointSelector: {}\n  ingress:\n    - fromEndpoints: [{}]\n"
    path = Path("p.yaml")
    path.write_text(text, encoding="utf-8")
    path.chmod(0o640)
    Path("d.yaml").write_text(ALL, encoding="utf-8")
    assert invoke("rewrite", "--write", "--decisions", "d.yaml", "p.yaml").exit_code == 0
    assert path.read_text(encoding="utf-8") != text
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in Path(".").iterdir()) == ["d.yaml", "p.yaml"]


def _laughs(levels: int, width: int) -> str:
    """A CiliumNetworkPolicy carrying a "billion laughs": `levels` anchors, each `width` aliases of the last."""
    lines = ["apiVersion: cilium.io/v2", "kind: CiliumNetworkPolicy", "metadata: {name: lol, namespace: x}",
             "lols:", "  l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    lines += ["spec:", "  endpointSelector: {}", "  ingress:", "    - fromEndpoints:",
              "        - matchLabels: {app: web}", f"  extra: *l{levels - 1}", ""]
    return "\n".join(lines)


def test_alias_bomb_is_refused_quickly_naming_the_alias_and_other_files_go_on() -> None:
    import time

    bomb = write("bomb.yaml", _laughs(9, 9))
    before = bomb.read_bytes()
    fine = write("fine.yaml", _laughs(3, 3).replace("lol, namespace", "fine, namespace"))
    Path("d.yaml").write_text(ALL)
    start = time.perf_counter()
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", str(bomb), str(fine))
    assert time.perf_counter() - start < 10
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if "bomb.yaml" in line]
    assert errors == ["bomb.yaml:19: error: cannot parse: aliases such as *l8 expand the document to 926,177,141 "
                      "nodes (excessive aliasing, which Kubernetes refuses too)"], result.output
    assert bomb.read_bytes() == before
    assert "cluster" in fine.read_text()  # a modest use of anchors is rewritten as usual


def test_ordinary_anchor_reuse_is_not_an_alias_bomb() -> None:
    from codemod.documents import parse_stream

    docs = parse_stream(_laughs(4, 12))  # 12**3 = 1,728 expanded nodes from a few dozen written
    assert docs[0].root is not None


def test_a_syntax_error_in_a_document_without_policies_stops_the_rewrite_of_its_file() -> None:
    """Found by tests/test_fuzz.py: documents without a policy are never composed, so their syntax errors went
    unseen, and the file was rewritten (and stayed invalid). Writing now needs the whole file to parse."""
    broken = write("broken.yaml", """\
        kind: ConfigMap
        data: {a: [1, 2}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web, namespace: shop}
        spec:
          endpointSelector: {}
          ingress:
            - fromEndpoints: [{matchLabels: {app: api}}]
        """)
    before = broken.read_bytes()
    Path("d.yaml").write_text(ALL)
    result = invoke("rewrite", "--write", "--decisions", "d.yaml", str(broken))
    assert result.exit_code == 2
    assert "broken.yaml:2: error: not rewritten: the file is not valid YAML where it holds no policy" in result.output
    assert broken.read_bytes() == before


@pytest.mark.parametrize(("peer", "caveat"), [
    ("toEndpoints: [{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [shop]}]}]",
     "also matched identities outside any cluster"),
    ("toEndpoints: [{matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: DoesNotExist}]}]",
     "also matched identities outside any cluster"),
    ("toEndpoints: [{matchExpressions: [{key: app, operator: NotIn, values: [db]}]}]", None),  # namespace added
    ("toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: other}}]", None),  # pods only
    ("toEndpoints: [{}]", None),
])
def test_a_peer_that_also_matched_identities_outside_any_cluster_says_so(peer: str, caveat: str | None) -> None:
    path = write("p.yaml", f"""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {{name: deny-out, namespace: shop}}
        spec:
          endpointSelector: {{}}
          egressDeny:
            - {peer}
        """)
    [finding] = scan(path)["findings"]
    assert ("on Cilium 1.18 it " + caveat in finding["message"]) if caveat else "1.18" not in finding["message"]


@pytest.mark.parametrize(("peer", "caveat"), [
    ("{namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}",
     "also matched identities outside any cluster"),
    ("{namespaceSelector: {matchLabels: {team: a}}}", None),
    ("{podSelector: {matchLabels: {io.cilium.k8s.policy.cluster: ''}}}", "matched nothing"),
    ("{podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [x]}]}}", None),  # own namespace
])
def test_networkpolicy_peers_whose_1_18_meaning_no_form_keeps_say_so(peer: str, caveat: str | None) -> None:
    path = write("n.yaml", f"""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: knp, namespace: shop}}
        spec:
          podSelector: {{}}
          ingress:
            - from: [{peer}]
        """)
    [finding] = scan(path)["findings"]
    assert ("on Cilium 1.18 it " + caveat in finding["message"]) if caveat else "1.18" not in finding["message"]


def test_the_alias_bomb_check_goes_as_deep_as_the_composer() -> None:
    """Review finding: the check recursed twice as deep as the composer, so one anchor in a deeply nested
    document turned it into "nested too deeply"."""
    from codemod.documents import parse_stream

    nested = "[" * 900 + "]" * 900
    docs = parse_stream(f"kind: CiliumNetworkPolicy\nx: &a 1\ny: *a\nz: {nested}\n")
    assert docs[0].root is not None


def test_an_empty_match_labels_does_not_hide_the_caveat() -> None:
    path = write("p.yaml", """\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: deny-out, namespace: shop}
        spec:
          endpointSelector: {}
          egressDeny:
            - toEndpoints:
                - matchLabels: {}
                  matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [x]}]
        """)
    [finding] = scan(path)["findings"]
    assert "also matched identities outside any cluster" in finding["message"]
