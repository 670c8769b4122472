"""The one small interface every rule implements, built-in or third-party.

A rule looks at one policy and yields findings; a finding may carry a fix, expressed as data-level edit
requests (`codemod.edits`). Rules never open files, print, or decide how text is spliced: the engine does
that once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from codemod.cilium import Peer, Policy
from codemod.decisions import UNDECIDED, Decision, Decisions, Subject
from codemod.documents import Node, format_path, source_of
from codemod.edits import Op


@dataclass
class Finding:
    rule: str
    file: str
    document: int
    line: int
    kind: str
    namespace: str | None
    name: str
    path: str
    message: str
    direction: str | None = None
    deny: bool | None = None
    decision: Decision | None = None  # implicit selectors only
    fix: list[Op] = field(default_factory=list)
    severity: str = ""  # error | warning | info (never holds the exit status at 1); "" takes the rule's
    fixable: bool = False  # the tool can rewrite it (given a decision, for implicit selectors)
    source: str = ""  # the node as written (shown by `decisions init` above each entry)

    @property
    def policy(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def undecided(self) -> bool:
        return self.decision is not None and self.decision.action == "undecided"

    def left_open(self, fixing: bool) -> bool:
        """Whether it keeps the exit status at 1: an undecided selector, or another rule's finding that
        this run does not fix (`fixing`: a rewrite applies the fixes it carries)."""
        if self.severity == "info":
            return False
        if self.decision is not None:
            return self.undecided
        return not (fixing and self.fix)


@dataclass
class Context:
    """What a rule may know about the file it looks at, and the decisions to apply."""

    file: Path
    display: str
    decisions: Decisions | None = None
    text: str = ""  # the file's text, so findings can quote what they point at
    values_file: bool = False  # a bare Helm values file (by its name, or named with --values)
    cilium_named: bool = False  # its path says cilium, or it was named with --values
    facts: set[str] = field(default_factory=set)  # what rules learnt here, for their `after_run` (see Run.facts)

    def decide(self, peer: Peer) -> Decision:
        if self.decisions is None:
            return UNDECIDED
        p = peer.policy
        return self.decisions.decide(Subject(self.file, p.kind, p.namespace or "", p.name,
                                             format_path(peer.path), peer.direction, peer.deny))

    def finding(self, rule: str, policy: Policy, path: tuple[str | int, ...], node: Node, message: str,
                **extra: object) -> Finding:
        return Finding(rule, self.display, policy.document.shown_index, node.line + 1, policy.kind, policy.namespace,
                       policy.name, format_path(path), message, source=source_of(node, self.text),
                       **extra)  # type: ignore[arg-type]


class Rule(Protocol):
    """Required: `id` (stable, kebab-case), a one-line `summary`, `fixable` (it rewrites; otherwise it only
    reports), `needs_decision`, and `check`. Optional, with defaults for third-party rules: `severity`
    (error | warning | info; "warning"), `versions` (the Cilium versions whose upgrade it is about;
    ("1.19", "1.20")), `kinds` (the manifest kinds it looks at; the three policy kinds), `explanation`, and
    a `before`/`after` example for `cilium-codemod explain`."""

    id: str
    summary: str
    fixable: bool
    needs_decision: bool

    def check(self, policy: Policy, context: Context) -> Iterable[Finding]: ...


ENTRY_POINT_GROUP = "cilium_codemod.rules"
SEVERITIES = ("error", "warning", "info")
VERSIONS = ("1.19", "1.20")


class RuleInfo(NamedTuple):
    """What `cilium-codemod rules` and `explain` show about a rule, defaults filled in."""

    id: str
    summary: str
    severity: str
    fixable: bool
    needs_decision: bool
    versions: tuple[str, ...]
    kinds: tuple[str, ...]
    explanation: str
    before: str
    after: str
    origin: str  # "built-in", or the distribution that registered it


def _strings(value: object) -> tuple[str, ...]:
    """A tuple of strings from what a (third-party) rule wrote: a tuple, a list, or one string."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple, set, frozenset)) else ()


def describe(rule: Rule, origin: str = "built-in") -> RuleInfo:
    """The rule's catalogue entry (remembered: the engine asks for it for every finding)."""
    key = (id(rule), origin)
    found = _DESCRIBED.get(key)
    if found is None or found[0] is not rule:
        found = _DESCRIBED[key] = (rule, _describe(rule, origin))
    return found[1]


_DESCRIBED: dict[tuple[int, str], tuple[Rule, RuleInfo]] = {}


def _describe(rule: Rule, origin: str) -> RuleInfo:
    from codemod.cilium import KINDS

    severity = str(getattr(rule, "severity", "warning"))
    return RuleInfo(
        id=rule.id, summary=rule.summary, severity=severity if severity in SEVERITIES else "warning",
        fixable=bool(rule.fixable), needs_decision=bool(rule.needs_decision),
        versions=_strings(getattr(rule, "versions", VERSIONS)), kinds=_strings(getattr(rule, "kinds", KINDS)),
        explanation=str(getattr(rule, "explanation", "") or rule.summary).strip(),
        before=str(getattr(rule, "before", "")), after=str(getattr(rule, "after", "")), origin=origin)


def load_rules() -> list[Rule]:
    """The built-in rules, then any registered under the `cilium_codemod.rules` entry-point group."""
    from rules import BUILTIN

    found: list[Rule] = [cls() for cls in BUILTIN]
    known = {rule.id for rule in found}
    for name, value, origin in _plugin_entries():
        try:
            rule = _load(value)()
            rule_id = str(rule.id)
        except Exception as exc:  # a broken plugin must not take every command down with it
            PROBLEMS.append(f"rule plugin {name} ({origin}) cannot be loaded: {type(exc).__name__}: {exc}")
            continue
        if rule_id in known:
            PROBLEMS.append(f"rule plugin {name} ({origin}) reuses the id {rule_id}; it is not loaded")
            continue
        known.add(rule_id)
        ORIGINS[rule_id] = origin
        found.append(rule)
    return found


def _load(value: str) -> Any:
    """What an entry point's `module:attr.attr` names (EntryPoint.load, without importlib.metadata)."""
    import importlib

    module, _, attrs = value.partition(":")
    target: Any = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        target = getattr(target, attr)
    return target


def _plugin_entries() -> list[tuple[str, str, str]]:
    """(name, `module:attr`, distribution) of each registered rule plugin, sorted by name.

    importlib.metadata reads every installed distribution's metadata (about 15 ms, on every pre-commit
    run), so the answer is cached under the user cache folder, keyed by _distribution_stamp."""
    import json
    import os

    stamp = _distribution_stamp()
    cache = None
    if not os.environ.get("CILIUM_CODEMOD_NO_CACHE"):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        cache = os.path.join(base, "cilium-codemod", "plugins.json")
        try:
            with open(cache, encoding="utf-8") as handle:
                saved = json.load(handle)
            if saved.get("stamp") == stamp:
                return [(str(n), str(v), str(d)) for n, v, d in saved["entries"]]
        except (OSError, ValueError, AttributeError):
            pass
    from importlib.metadata import entry_points

    entries = sorted((e.name, e.value, e.dist.name if e.dist is not None else e.value)
                     for e in entry_points(group=ENTRY_POINT_GROUP))
    if cache is not None:
        try:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            tmp = f"{cache}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump({"stamp": stamp, "entries": entries}, handle)
            os.replace(tmp, cache)
        except OSError:
            pass
    return entries


def _distribution_stamp() -> list[list[object]]:
    """What changes when a distribution is installed, upgraded or removed: the modification time of each
    sys.path folder that holds distribution metadata (pip adds or removes a `*.dist-info` folder there),
    and which folders hold none. Other folders' times are left out: the current folder, often first on
    sys.path, changes whenever a file is created in it, and would make the cache miss on every run."""
    import os
    import sys

    stamp: list[list[object]] = []
    for folder in sys.path:
        try:
            with os.scandir(folder or ".") as entries:
                holds = any(e.name.endswith((".dist-info", ".egg-info")) for e in entries)
            stamp.append([folder, os.stat(folder or ".").st_mtime_ns if holds else None])
        except NotADirectoryError:  # a zip archive on sys.path: its own time
            stamp.append([folder, os.stat(folder).st_mtime_ns])
        except OSError:
            continue
    return stamp


ORIGINS: dict[str, str] = {}  # third-party rule id -> the distribution that registered it
PROBLEMS: list[str] = []  # plugins that could not be loaded, for the CLI to warn about


class UnknownRule(ValueError):
    pass


def choose_rules(rules: list[Rule], select: Iterable[str] = (), ignore: Iterable[str] = (),
                 target: str | None = None) -> list[Rule]:
    """The rules a run uses: `select` (all when empty) minus `ignore`, limited to those about `target`.
    Ids are exact; a comma-separated list counts as several."""
    known = {rule.id for rule in rules}
    chosen = {i.strip() for item in select for i in item.split(",") if i.strip()}
    dropped = {i.strip() for item in ignore for i in item.split(",") if i.strip()}
    unknown = sorted((chosen | dropped) - known)
    if unknown:
        raise UnknownRule(f"unknown rule {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    left = [r for r in rules if (not chosen or r.id in chosen) and r.id not in dropped
            and (target is None or target in describe(r).versions)]
    if (chosen or dropped) and not left:
        raise UnknownRule("no rule left to run after --select/--ignore/--target-version")
    return left
