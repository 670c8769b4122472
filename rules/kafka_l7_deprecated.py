"""Kafka L7 rules in Cilium policies: deprecated in Cilium 1.19, gone in 1.20."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import KNP, Policy, sections
from codemod.documents import Mapping, Sequence, deref
from codemod.rule import Context, Finding


class KafkaL7Deprecated:
    id = "kafka-l7-deprecated"
    summary = "Kafka L7 policy rules are deprecated in Cilium 1.19 and removed in 1.20"
    fixable = False
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    kinds = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")
    explanation = """
`toPorts[].rules.kafka` (Kafka-aware L7 filtering by role, API key and topic) is deprecated in Cilium 1.19
and removed in 1.20. Plan its replacement before 1.20: an L4 rule on the broker port (with the peers
narrowed as far as possible), and topic-level authorisation in Kafka itself (ACLs). Reported only.
"""
    before = """
ingress:
  - fromEndpoints: [{matchLabels: {app: empire-hq}}]
    toPorts:
      - ports: [{port: "9092", protocol: TCP}]
        rules:
          kafka:
            - role: produce
              topic: deathstar-plans
"""
    after = """
ingress:
  - fromEndpoints: [{matchLabels: {app: empire-hq}}]
    toPorts:
      - ports: [{port: "9092", protocol: TCP}]   # topic access: Kafka ACLs
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if policy.kind == KNP:
            return
        for path, _section, entry in sections(policy):
            to_ports = deref(entry.get("toPorts"))
            if not isinstance(to_ports, Sequence):
                continue
            for i, item in enumerate(to_ports.items):
                port_rule = deref(item)
                rules = deref(port_rule.get("rules")) if isinstance(port_rule, Mapping) else None
                if not isinstance(rules, Mapping) or rules.get("kafka") is None:
                    continue
                key = rules.key_node("kafka")
                assert key is not None
                yield context.finding(self.id, policy, (*path, "toPorts", i, "rules", "kafka"), key,
                                      "Kafka L7 rules are deprecated in Cilium 1.19 and removed in 1.20: replace "
                                      "them with an L4 rule and Kafka ACLs before upgrading to 1.20")
