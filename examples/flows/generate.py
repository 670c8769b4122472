"""Generate the example Hubble captures of the east/west mesh in `../gitops`, deterministically.

    python examples/flows/generate.py            # rewrites pre-upgrade.jsonl.gz and post-upgrade.jsonl.gz

`pre-upgrade.jsonl.gz` is what `hubble observe --verdict FORWARDED --since 24h -o jsonpb` gives on Cilium
1.18 (the selectors match every cluster); `post-upgrade.jsonl.gz` is the same traffic after an upgrade to
1.19 with no decisions applied: each peer that names no cluster has become local-only, so the
cross-cluster connections are dropped where that peer is enforced. The lines follow the documented shape
of `GetFlowsResponse` (proto field names, enums as strings, 64-bit integers as strings).
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 19, 9, 0, 0, tzinfo=timezone.utc)
SPAN = timedelta(hours=23, minutes=52)


@dataclass(frozen=True)
class Pod:
    cluster: str
    namespace: str
    app: str
    ip: str
    identity: int
    extra: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.app}-7d4b9c{self.identity % 97:02d}f-{self.cluster[:2]}x{self.identity % 7}q"

    @property
    def node(self) -> str:
        return f"{self.cluster}/{self.cluster}-worker-{self.identity % 3 + 1}"

    def endpoint(self, local: bool) -> dict[str, object]:
        labels = sorted([
            f"k8s:app.kubernetes.io/name={self.app}",
            f"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={self.namespace}",
            f"k8s:io.cilium.k8s.policy.cluster={self.cluster}",
            f"k8s:io.cilium.k8s.policy.serviceaccount={self.app}",
            f"k8s:io.kubernetes.pod.namespace={self.namespace}",
            *self.extra,
        ])
        out: dict[str, object] = {}
        if local:
            out["ID"] = self.identity % 4000 + 10
        out.update({"identity": self.identity, "cluster_name": self.cluster, "namespace": self.namespace,
                    "labels": labels, "pod_name": self.name,
                    "workloads": [{"name": self.app, "kind": "Deployment"}]})
        return out


def _pods() -> dict[tuple[str, str], Pod]:
    pods: dict[tuple[str, str], Pod] = {}
    for c, cluster in enumerate(("east", "west")):
        net = 10 + c * 10
        for i, (namespace, app, extra) in enumerate([
            ("ingress-nginx", "ingress-nginx", ()),
            ("shop", "frontend", ()),
            ("shop", "checkout", ()),
            ("shop", "payments", ("k8s:prometheus.io/scrape=true",)),
            ("shop", "postgres", ()),
            ("backup", "pg-backup", ()),
            ("kube-system", "coredns", ("k8s:k8s-app=kube-dns",)),
        ]):
            pods[(cluster, app)] = Pod(cluster, namespace, app, f"10.{net}.{i + 1}.{17 + i}", 40000 + c * 1000 + i,
                                       extra)
    pods[("west", "ledger-reconciler")] = Pod("west", "shop", "ledger-reconciler", "10.20.9.41", 41900)
    pods[("east", "prometheus")] = Pod("east", "observability", "prometheus", "10.10.9.90", 40900)
    return pods


@dataclass(frozen=True)
class Traffic:
    """A connection seen many times: who, to whom, the port, and what enforces it on each side."""

    source: tuple[str, str]
    destination: tuple[str, str]
    port: int
    protocol: str
    per_day: int
    ingress_by: tuple[tuple[str, str, str], ...] = ()  # policies allowing it at the destination
    egress_by: tuple[tuple[str, str, str], ...] = ()  # policies allowing it at the source
    broken: str = ""  # after the upgrade: "egress" or "ingress" drops it (an implicit peer went local)


CNP, CCNP, KNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy"
BASELINE = (CNP, "shop", "shop-baseline")


def _traffic() -> list[Traffic]:
    out: list[Traffic] = []
    for c in ("east", "west"):
        other = "west" if c == "east" else "east"
        out += [
            Traffic((c, "ingress-nginx"), (c, "frontend"), 8080, "TCP", 60, ((CNP, "shop", "frontend"), BASELINE)),
            Traffic((c, "frontend"), (c, "checkout"), 8080, "TCP", 40, ((CNP, "shop", "checkout"), BASELINE),
                    ((CNP, "shop", "frontend"),)),
            Traffic((c, "checkout"), (c, "payments"), 8443, "TCP", 30, ((CNP, "shop", "payments"), BASELINE),
                    ((CNP, "shop", "checkout"),)),
            # active/active: checkout charges cards through the other cluster's payments too
            Traffic((c, "checkout"), (other, "payments"), 8443, "TCP", 6, ((CNP, "shop", "payments"), BASELINE),
                    ((CNP, "shop", "checkout"),), broken="egress"),
            Traffic((c, "payments"), (c, "postgres"), 5432, "TCP", 30, ((KNP, "shop", "postgres"),)),
            Traffic((c, "pg-backup"), (c, "postgres"), 5432, "TCP", 4, ((KNP, "shop", "postgres"),)),
            Traffic((c, "checkout"), (c, "coredns"), 53, "UDP", 50, (), (BASELINE,)),
            Traffic((c, "frontend"), (c, "coredns"), 53, "UDP", 50, (), (BASELINE,)),
            Traffic(("east", "prometheus"), (c, "payments"), 9102, "TCP", 24,
                    ((CCNP, "", "allow-prometheus-scrape"), BASELINE), broken="" if c == "east" else "ingress"),
        ]
    out.append(Traffic(("west", "ledger-reconciler"), ("east", "payments"), 8443, "TCP", 12,
                       ((CNP, "shop", "payments-from-reconciler"), BASELINE),
                       ((CNP, "shop", "ledger-reconciler"),), broken="ingress"))
    return out


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def _policies(refs: tuple[tuple[str, str, str], ...]) -> list[dict[str, object]]:
    return [{"name": name, "namespace": namespace, "labels": [
        f"k8s:io.cilium.k8s.policy.derived-from={kind}", f"k8s:io.cilium.k8s.policy.name={name}",
        *([f"k8s:io.cilium.k8s.policy.namespace={namespace}"] if namespace else [])],
        "revision": "42", "kind": kind} for kind, namespace, name in refs]


def _flow(rnd: random.Random, when: datetime, src: Pod, dst: Pod, t: Traffic, *, observed_at: Pod,
          event: int, direction: str, verdict: str = "FORWARDED", reply: bool = False,
          allowed: list[dict[str, object]] | None = None, drop: str = "") -> dict[str, object]:
    sport = rnd.randrange(32768, 60999)
    a, b = (dst, src) if reply else (src, dst)
    ports = (t.port, sport) if reply else (sport, t.port)
    l4 = {t.protocol: {"source_port": ports[0], "destination_port": ports[1]}}
    if t.protocol == "TCP":
        l4["TCP"]["flags"] = {"SYN": True, "ACK": True} if reply else {"SYN": True}  # type: ignore[index]
    flow: dict[str, object] = {
        "time": _stamp(when),
        "uuid": f"{rnd.getrandbits(128):032x}",
        "emitter": {"name": "Hubble", "version": "1.18.6+g2c1e9a0"},
        "verdict": verdict,
    }
    if drop:
        flow.update({"drop_reason": 133, "drop_reason_desc": drop})
    flow.update({
        "IP": {"source": a.ip, "destination": b.ip, "ipVersion": "IPv4"},
        "l4": l4,
        "source": a.endpoint(a == observed_at),
        "destination": b.endpoint(b == observed_at),
        "Type": "L3_L4",
        "node_name": observed_at.node,
        "event_type": {"type": event, **({"sub_type": 0} if event == 4 else {})},
        "traffic_direction": direction,
    })
    if event == 4:
        flow["trace_observation_point"] = "TO_ENDPOINT" if observed_at == b else "TO_OVERLAY"
    if allowed:
        flow[f"{direction.lower()}_allowed_by"] = allowed
    flow["is_reply"] = reply
    flow["Summary"] = "TCP Flags: SYN, ACK" if reply and t.protocol == "TCP" else \
        "TCP Flags: SYN" if t.protocol == "TCP" else t.protocol
    return {"flow": flow, "node_name": observed_at.node, "time": flow["time"]}


def _events(rnd: random.Random, when: datetime, src: Pod, dst: Pod, t: Traffic, after: bool) -> list[dict]:
    """The events one connection leaves: policy verdicts where policy is enforced, traces, the reply."""
    out: list[dict[str, object]] = []
    step = timedelta(microseconds=180)
    if t.egress_by:
        if after and t.broken == "egress":
            return [_flow(rnd, when, src, dst, t, observed_at=src, event=5, direction="EGRESS",
                          verdict="DROPPED", drop="POLICY_DENIED")]
        out.append(_flow(rnd, when, src, dst, t, observed_at=src, event=5, direction="EGRESS",
                         allowed=_policies(t.egress_by)))
    if src.cluster != dst.cluster or src.identity % 3 != dst.identity % 3:
        out.append(_flow(rnd, when + step, src, dst, t, observed_at=src, event=4, direction="EGRESS"))
    if t.ingress_by:
        if after and t.broken == "ingress":
            out.append(_flow(rnd, when + 2 * step, src, dst, t, observed_at=dst, event=5, direction="INGRESS",
                             verdict="DROPPED", drop="POLICY_DENIED"))
            return out
        out.append(_flow(rnd, when + 2 * step, src, dst, t, observed_at=dst, event=5, direction="INGRESS",
                         allowed=_policies(t.ingress_by)))
    out.append(_flow(rnd, when + 3 * step, src, dst, t, observed_at=dst, event=4, direction="INGRESS"))
    out.append(_flow(rnd, when + 4 * step, src, dst, t, observed_at=dst, event=4, direction="EGRESS", reply=True))
    return out


def capture(after: bool) -> bytes:
    rnd = random.Random(1190 if not after else 1191)
    pods = _pods()
    start = START + (timedelta(days=2) if after else timedelta())
    timed: list[tuple[datetime, int, dict[str, object]]] = []
    for t in _traffic():
        src, dst = pods[t.source], pods[t.destination]
        for _ in range(t.per_day):
            when = start + timedelta(seconds=rnd.uniform(0, SPAN.total_seconds()))
            for event in _events(rnd, when, src, dst, t, after):
                timed.append((when, len(timed), event))
    timed.sort(key=lambda x: (x[0], x[1]))
    lines = [json.dumps(e, separators=(",", ":")) for _, _, e in timed]
    if not after:  # one node's ring buffer overflowed once during the capture
        lost = {"lost_events": {"source": "HUBBLE_RING_BUFFER", "num_events_lost": "12", "cpu": 1},
                "node_name": "west/west-worker-2", "time": _stamp(start + timedelta(hours=7))}
        lines.insert(len(lines) // 3, json.dumps(lost, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8")


def write(folder: Path) -> list[Path]:
    written = []
    for name, after in (("pre-upgrade.jsonl.gz", False), ("post-upgrade.jsonl.gz", True)):
        path = folder / name
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
            out.write(capture(after))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {path}")
