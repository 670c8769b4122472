"""toServices peers: local-only at runtime on Cilium 1.19, and no label can fix that."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import KNP, Policy, sections
from codemod.documents import Mapping, Sequence, deref
from codemod.rule import Context, Finding


class ToServicesLocal:
    id = "to-services-local"
    summary = "toServices peer turns local-cluster-only at runtime on Cilium 1.19; use toEndpoints"
    fixable = False
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    explanation = """
A `toServices` peer naming a service with a pod selector is turned into a generated `toEndpoints` peer by
the agent at runtime, and on Cilium 1.19 that generated peer matches the local cluster only. No label in
the policy can change it (Cilium's own inspect command misses it too): switch to `toEndpoints` with the
service's pod labels, and decide its clusters like any other peer. Reported only.
"""
    before = """
egress:
  - toServices:
      - k8sService:
          serviceName: payments
          namespace: shop
"""
    after = """
egress:
  - toEndpoints:
      - matchLabels:
          k8s:io.kubernetes.pod.namespace: shop
          app.kubernetes.io/name: payments
        matchExpressions:
          - key: io.cilium.k8s.policy.cluster
            operator: Exists
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if policy.kind == KNP:
            return
        for path, section, entry in sections(policy):
            if section not in ("egress", "egressDeny"):
                continue
            services = deref(entry.get("toServices"))
            if not isinstance(services, Sequence):
                continue
            for i, item in enumerate(services.items):
                service = deref(item)
                if not isinstance(service, Mapping):
                    continue
                if service.get("k8sService") is None and service.get("k8sServiceSelector") is None:
                    continue
                yield context.finding(
                    self.id, policy, (*path, "toServices", i), item,
                    "a service with a pod selector becomes a generated toEndpoints peer that matches only "
                    "the local cluster on Cilium 1.19; no label fixes it: switch to toEndpoints",
                    direction="egress", deny=section == "egressDeny")
