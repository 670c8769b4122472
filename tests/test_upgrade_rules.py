"""The report-only upgrade rules beyond the cluster default: bgp-v1-removed, kafka-l7-deprecated and
lb-ippool-v2alpha1 (which also rewrites `apiVersion`), table-driven per manifest shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import invoke, write_files

BGP = """\
apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: rack0}
spec:
  virtualRouters: [{localASN: 64512, neighbors: []}]
"""

POOL = """\
apiVersion: {api}
kind: CiliumLoadBalancerIPPool
metadata: {{name: pool}}
spec:
  {blocks}
"""

KAFKA = """\
apiVersion: cilium.io/v2
kind: {kind}
metadata: {{name: k, namespace: k}}
spec:
  endpointSelector: {{}}
  {section}:
    - {peer}: [{{matchLabels: {{"reserved:host": ""}}}}]
      toPorts:
        - ports: [{{port: "9092"}}]
          rules: {rules}
"""

CASES = [
    pytest.param(BGP, [("bgp-v1-removed", 2, "kind")], id="bgp-v1"),
    pytest.param(BGP.replace("v2alpha1", "v2"), [("bgp-v1-removed", 2, "kind")], id="bgp-any-version"),
    pytest.param("apiVersion: v1\nkind: List\nitems:\n  - " + BGP.replace("\n", "\n    ").rstrip() + "\n",
                 [("bgp-v1-removed", 5, "items[0].kind")], id="bgp-in-list"),
    pytest.param(BGP.replace("cilium.io/v2alpha1", "example.com/v1"), [], id="bgp-other-group"),
    pytest.param(POOL.format(api="cilium.io/v2alpha1", blocks="blocks: [{cidr: 10.0.0.0/24}]"),
                 [("lb-ippool-v2alpha1", 1, "apiVersion")], id="pool-v2alpha1"),
    pytest.param(POOL.format(api="cilium.io/v2alpha1", blocks="cidrs: [{cidr: 10.0.0.0/24}]"),
                 [("lb-ippool-v2alpha1", 1, "apiVersion")], id="pool-v2alpha1-cidrs"),
    pytest.param(POOL.format(api="cilium.io/v2", blocks="blocks: []"), [], id="pool-v2"),
    pytest.param(KAFKA.format(kind="CiliumNetworkPolicy", section="ingress", peer="fromEndpoints",
                              rules="{kafka: [{role: produce, topic: plans}]}"),
                 [("kafka-l7-deprecated", 10, "spec.ingress[0].toPorts[0].rules.kafka")], id="kafka-ingress"),
    pytest.param(KAFKA.format(kind="CiliumClusterwideNetworkPolicy", section="egress", peer="toEndpoints",
                              rules="{kafka: []}"),
                 [("kafka-l7-deprecated", 10, "spec.egress[0].toPorts[0].rules.kafka")], id="kafka-ccnp-egress"),
    pytest.param(KAFKA.format(kind="CiliumNetworkPolicy", section="ingress", peer="fromEndpoints",
                              rules="{http: [{method: GET}]}"), [], id="http-rules"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_findings(in_tmp: Path, text: str, expected: list[tuple[str, int, str]]) -> None:
    write_files(in_tmp, {"m.yaml": text})
    result = invoke("scan", "m.yaml", "--format", "json", "--ignore", "implicit-cluster-selector")
    found = [(f["rule"], f["line"], f["path"]) for f in json.loads(result.stdout)["findings"]]
    assert found == expected
    assert result.exit_code == (1 if expected else 0)


def test_severities_and_messages(in_tmp: Path) -> None:
    write_files(in_tmp, {"bgp.yaml": BGP, "pool.yaml": POOL.format(api="cilium.io/v2alpha1",
                                                                    blocks="cidrs: [{cidr: 10.0.0.0/24}]")})
    found = {f["rule"]: f for f in json.loads(invoke("scan", ".", "--format", "json").stdout)["findings"]}
    assert found["bgp-v1-removed"]["severity"] == "error"
    assert "CiliumBGPClusterConfig, CiliumBGPPeerConfig and CiliumBGPAdvertisement" in found["bgp-v1-removed"][
        "message"]
    assert found["lb-ippool-v2alpha1"]["message"] == \
        "cilium.io/v2alpha1 is deprecated; move spec.cidrs to spec.blocks, then use cilium.io/v2"
    assert found["lb-ippool-v2alpha1"]["severity"] == "warning"


def test_a_pool_with_cidrs_is_reported_not_rewritten(in_tmp: Path) -> None:
    text = POOL.format(api="cilium.io/v2alpha1", blocks="cidrs: [{cidr: 10.0.0.0/24}]")
    write_files(in_tmp, {"pool.yaml": text})
    result = invoke("rewrite", "pool.yaml", "--write")
    assert result.exit_code == 1
    assert (in_tmp / "pool.yaml").read_text() == text


def test_files_without_policies_are_read_only_for_rules_that_want_their_kinds(in_tmp: Path) -> None:
    write_files(in_tmp, {"bgp.yaml": BGP})
    assert invoke("scan", "bgp.yaml", "--select", "implicit-cluster-selector").exit_code == 0
    assert invoke("scan", "bgp.yaml").exit_code == 1
    assert invoke("scan", "bgp.yaml", "--target-version", "1.20").exit_code == 1
