"""Decisions from evidence: a decision file proposed from Hubble captures of the mesh before the upgrade.

A selector that carried traffic from other clusters gets `clusters: [...]`, naming the clusters that
enforce it and exactly the remote clusters seen, so both its local and its observed remote peers keep
working; a selector with no cross-cluster evidence gets `local`; a deny peer gets `all-clusters` (flows are
no evidence for what a deny rule must keep out). Each entry's `reason` cites its evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codemod.cilium import CCNP, Policy
from codemod.decisions import Decision, Decisions
from codemod.engine import Run, run
from codemod.evidence import Evidence, Gathered, gather, stamp, warnings
from codemod.rule import Context, Finding
from codemod.selection import PolicyModel, model
from codemod.sources import DEFAULT_MAX_FILE_SIZE
from codemod.todo import IMPLICIT, Update, init, update


@dataclass
class Proposal:
    run: Run
    gathered: Gathered
    existing: Decisions | None = None
    decisions: dict[tuple[str, int, str], Decision] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for f in self.run.findings if f.rule == IMPLICIT and f.fixable]

    def decide(self, finding: Finding) -> Decision:
        """The proposal for a selector."""
        return self.decisions[(finding.file, finding.document, finding.path)]

def propose(paths: Sequence[str], captures: Sequence[str], local_cluster: str | None, since: float | None,
            existing: Decisions | None, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Proposal:
    from rules.implicit_cluster_selector import ImplicitClusterSelector

    models: list[PolicyModel] = []

    def visit(policy: Policy, context: Context) -> None:
        models.append(model(policy, context.display))

    found = run(paths, [ImplicitClusterSelector()], existing, fix=False, visit=visit,
                max_file_size=max_file_size)
    gathered = gather(captures, models, local_cluster)
    out = Proposal(found, gathered, existing, warnings=warnings(gathered, since))
    unplaced = sum(1 for m in models if m.policy.kind != CCNP and m.policy.namespace is None)
    if unplaced:
        out.warnings.append(f"{unplaced} namespaced polic{'y has' if unplaced == 1 else 'ies have'} no "
                            "metadata.namespace (set at deploy time?): evaluated in the namespace of each flow's "
                            "endpoint, and matched to Hubble's attribution by kind and name")
    span = _span(gathered)
    for f in out.findings:
        key = (f.file, f.document, f.path)
        out.decisions[key] = decision_for(f, gathered.evidence.get(key), span)
    return out


def _span(gathered: Gathered) -> str:
    firsts = [c.first for c in gathered.captures if c.first is not None]
    lasts = [c.last for c in gathered.captures if c.last is not None]
    window = f"{stamp(min(firsts))} .. {stamp(max(lasts))}" if firsts and lasts else "no timestamps"
    return f"{gathered.flows:,} flows, {window}"


def decision_for(finding: Finding, evidence: Evidence | None, span: str) -> Decision:
    if finding.deny:
        return Decision("all-clusters", reason="deny peer: all-clusters keeps it denying remote clusters "
                        "(allowed flows are no evidence for a deny rule)")
    if evidence is None or not evidence.remote:
        return Decision("local", reason=f"evidence: no cross-cluster flow matched this selector ({span})")
    clusters = tuple(sorted(evidence.enforcing | evidence.remote))
    ranked = sorted(evidence.peers.items(), key=lambda item: (-item[1], item[0]))  # ties: by name, stable
    peers = ", ".join(name for name, _ in ranked[:5])
    more = len(evidence.peers) + len(evidence.more_peers) - 5
    if more > 0:
        peers += f" and {more} more"
    remote = ", ".join(sorted(evidence.remote))
    enforcing = ", ".join(sorted(evidence.enforcing))
    reason = (f"evidence: {evidence.flows:,} flow{'s' if evidence.flows != 1 else ''} with peers in {remote} "
              f"(enforced in {enforcing}): {peers}; first {stamp(evidence.first)}, last {stamp(evidence.last)}")
    return Decision("clusters", clusters, reason)


HEADER = """\
# cilium-codemod decision file proposed from Hubble captures by `cilium-codemod propose`:
#   {captures}
#   {span}
# Review before use: a selector the captures never exercised is proposed `local`, and `clusters` lists
# only clusters seen in the captures (capture every cluster where these policies are deployed).
# action: all-clusters | clusters (with clusters: [east, west]) | local | undecided (still to decide).
# The first entry whose match fits a selector wins; `file` is a glob relative to this file's folder.
version: 1
default: undecided
"""


def render(proposal: Proposal, output: Path | None, update_path: Path | None) -> tuple[str, Update | None]:
    """The decision file's text: new, or `update_path` with its decisions kept, its `undecided` entries
    filled where the evidence decides them, and new selectors appended."""
    from codemod.sources import absolute

    if update_path is not None:
        assert proposal.existing is not None
        updated = update(update_path, proposal.existing, proposal.findings, proposal.decide, False, fill=True)
        return updated.text, updated
    base = absolute(output.parent if output is not None else Path.cwd())
    g = proposal.gathered
    names = ", ".join("<stdin>" if c.name == "-" else c.name for c in g.captures)
    clusters = ", ".join(sorted(g.clusters)) or "none"
    header = HEADER.format(captures=f"captures: {names}", span=f"{_span(g)}; clusters seen: {clusters}")
    return init(proposal.findings, base, proposal.decide, False, header), None
