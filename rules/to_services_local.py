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
