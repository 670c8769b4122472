"""Helm values the chart no longer reads: set in a values file, they are silently ignored."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy
from codemod.documents import Mapping, deref
from codemod.helm import HELM_VALUES, is_full_copy, lookup
from codemod.rule import Context, Finding

# key path → (the release that stopped reading it, what to do instead). From the released charts' default
# values (shared/docs/values-diff-*.txt); keys another rule renames or moves are not listed here.
REMOVED: dict[tuple[str, ...], tuple[str, str]] = {
    ("nodePort", "enabled"): ("1.19", "NodePort is part of kube-proxy replacement (kubeProxyReplacement)"),
    ("customCalls", "enabled"): ("1.19", "custom BPF calls are gone"),
    ("svcSourceRangeCheck",): ("1.19", "loadBalancerSourceRanges are always enforced"),
    ("clustermesh", "apiserver", "tls", "client"): ("1.19", "the clustermesh-apiserver client certificate is "
                                                            "no longer configurable"),
    ("clustermesh", "apiserver", "tls", "admin"): ("1.20", "certificates are managed by the chart"),
    ("clustermesh", "apiserver", "tls", "remote"): ("1.20", "certificates are managed by the chart"),
    ("clustermesh", "apiserver", "tls", "server"): ("1.20", "certificates are managed by the chart"),
    ("clustermesh", "apiserver", "tls", "enableSecrets"): ("1.20", "certificates are managed by the chart"),
    ("encryption", "ipsec", "encryptedOverlay"): ("1.20", "see the IPsec upgrade notes"),
    ("hubble", "redact", "kafka", "apiKey"): ("1.20", "Kafka L7 visibility is removed"),
    ("hubble", "ui", "backend", "livenessProbe", "enabled"): ("1.20", "the probes are always on"),
    ("hubble", "ui", "backend", "readinessProbe", "enabled"): ("1.20", "the probes are always on"),
    ("preflight", "tofqdnsPreCache"): ("1.20", "the DNS pre-cache is gone"),
}


class HelmRemovedKeys:
    id = "helm-removed-keys"
    summary = "Helm values the 1.19/1.20 charts no longer read (silently ignored)"
    fixable = False
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    kinds = (HELM_VALUES,)
    explanation = """
Helm keeps values the chart no longer reads without a word, so a setting that used to matter quietly stops
mattering. Cilium 1.19 drops `nodePort.enabled`, `customCalls.enabled`, `svcSourceRangeCheck` and
`clustermesh.apiserver.tls.client.*`; 1.20 drops the clustermesh-apiserver `tls.admin/remote/server` and
`enableSecrets` settings, `encryption.ipsec.encryptedOverlay`, `hubble.redact.kafka.apiKey`, the hubble-ui
backend probe switches and `preflight.tofqdnsPreCache`. Reported only: whether the behaviour they set is
still needed, and how, is a judgement call. A full copy of the chart's defaults is not flagged.
"""
    before = """
nodePort:
  enabled: true
svcSourceRangeCheck: false
"""
    after = """
kubeProxyReplacement: true   # what nodePort.enabled used to switch on; svcSourceRangeCheck: gone
"""

    target_version: str | None = None  # set by --target-version: keys removed after it are not reported

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if is_full_copy(policy.node):
            return
        for keys, (release, advice) in REMOVED.items():
            if self.target_version is not None and release > self.target_version:
                continue
            holder, node = lookup(policy.node, keys)
            value = deref(node)
            if holder is None or value is None or (isinstance(value, Mapping) and not value.pairs):
                continue
            key = holder.key_node(keys[-1])
            assert key is not None
            dotted = ".".join(keys) + (".*" if isinstance(value, Mapping) else "")
            yield context.finding(self.id, policy, (*policy.path, *keys), key,
                                  f"{dotted} is ignored since Cilium {release}: {advice}")
