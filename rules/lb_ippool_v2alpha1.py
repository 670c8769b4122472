"""CiliumLoadBalancerIPPool `cilium.io/v2alpha1`: deprecated in favour of `cilium.io/v2`."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy, text_of
from codemod.documents import Mapping, deref
from codemod.edits import Replace
from codemod.rule import Context, Finding

KIND = "CiliumLoadBalancerIPPool"
OLD, NEW = "cilium.io/v2alpha1", "cilium.io/v2"


class LbIpPoolV2alpha1:
    id = "lb-ippool-v2alpha1"
    summary = "CiliumLoadBalancerIPPool cilium.io/v2alpha1 is deprecated; use cilium.io/v2"
    fixable = True
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    kinds = (KIND,)
    explanation = """
The `cilium.io/v2alpha1` version of CiliumLoadBalancerIPPool is deprecated in favour of `cilium.io/v2`,
which serves the same pools. The rewrite changes `apiVersion` only. A pool that still lists its ranges
under the long-deprecated `spec.cidrs` is reported instead: move them to `spec.blocks` first.
"""
    before = """
apiVersion: cilium.io/v2alpha1
kind: CiliumLoadBalancerIPPool
metadata: {name: public}
spec:
  blocks:
    - cidr: 203.0.113.0/24
"""
    after = """
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: public}
spec:
  blocks:
    - cidr: 203.0.113.0/24
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if text_of(policy.node.get("apiVersion")) != OLD:
            return
        node = policy.node.get("apiVersion")
        assert node is not None
        spec = deref(policy.node.get("spec"))
        path = (*policy.path, "apiVersion")
        if isinstance(spec, Mapping) and spec.get("cidrs") is not None:
            yield context.finding(self.id, policy, path, node,
                                  f"{OLD} is deprecated; move spec.cidrs to spec.blocks, then use {NEW}")
            return
        yield context.finding(self.id, policy, path, node, f"{OLD} is deprecated; use {NEW}",
                              fix=[Replace(policy.document.index, path, NEW)], fixable=True)
