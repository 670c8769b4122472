"""Runs the rules over files: sources → documents → rules → edits → verification.

One file at a time, all or nothing: a file is either fully rewritten and verified, or left untouched with
an error that names it. Nothing here prints; the CLI renders what comes back.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codemod.cilium import KINDS, Policy, manifests
from codemod.decisions import Decisions
from codemod.documents import Document, Node, ParseError, parse_stream, relevant_only, scalar_spans, to_data
from codemod.edits import Op, Replace, TextEdit, Unsafe
from codemod.helm import EMBEDDED, HELM_VALUES, Embedded, embedded, is_values_name, values_in
from codemod.helm import WORDS as HELM_WORDS
from codemod.rule import Context, Finding, Rule, describe

if TYPE_CHECKING:
    from codemod.planner import Planner

from codemod.sources import (
    DEFAULT_MAX_FILE_SIZE,
    POLICY_WORD,
    TEMPLATE_REASON,
    FileError,
    Skipped,
    SourceFile,
    absolute,
    discover,
    display_path,
    has_template_tag,
    read_source,
    template_reason,
)


@dataclass
class PolicyVerdict:
    """One policy object and whether any of its selectors relies on the cluster default."""

    kind: str
    namespace: str | None
    name: str
    affected: bool


@dataclass
class FileResult:
    display: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    verdicts: list[PolicyVerdict] = field(default_factory=list)
    values_file: bool = False  # read as Helm values whatever its name
    facts: set[str] = field(default_factory=set)  # what rules learnt in this file (Context.facts)
    source: SourceFile | None = None
    new_text: str | None = None  # set when the file would change

    @property
    def changed(self) -> bool:
        return self.source is not None and self.new_text is not None and self.new_text != self.source.text

    @property
    def new_bytes(self) -> bytes:
        assert self.source is not None and self.new_text is not None
        return self.source.encode(self.new_text)


@dataclass
class Run:
    files: list[FileResult] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # the ids of the rules that ran

    def drop(self, findings: list[Finding]) -> None:
        """Take findings back (a rule's `after_run` saw the whole run and found them moot)."""
        gone = {id(f) for f in findings}
        for r in self.files:
            r.findings = [f for f in r.findings if id(f) not in gone]

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.files for f in r.findings]

    @property
    def errors(self) -> list[FileError]:
        return [e for r in self.files for e in r.errors]

    @property
    def skipped(self) -> list[Skipped]:
        return [s for r in self.files for s in r.skipped]

    @property
    def facts(self) -> set[str]:
        """What rules learnt across the run (gathered per file, so it works with --jobs too)."""
        return {fact for r in self.files for fact in r.facts}

    @property
    def changed(self) -> list[FileResult]:
        return [r for r in self.files if r.changed]


Progress = Callable[[list[Path | Skipped | FileError]], Iterable[Path | Skipped | FileError]]
Visit = Callable[[Policy, Context], None]


PARALLEL_FROM = 64  # files: below this, starting worker processes costs more than it saves


def run(paths: Sequence[str], rules: list[Rule], decisions: Decisions | None, fix: bool,
        progress: Progress | None = None, visit: Visit | None = None, values: Sequence[str] = (),
        jobs: int = 1, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Run:
    """Every file under `paths`, in a stable order; `progress` may wrap the list to show how far it got;
    `visit` sees every policy checked (for commands that need more than findings, such as `propose`);
    `jobs` > 1 checks files in that many processes (results keep the files' order); a file larger than
    `max_file_size` bytes is an error, never read."""
    result = Run()
    forced = frozenset(absolute(v) for v in values)  # files named with --values: Helm values whatever their name
    found_all = list(discover([*paths, *(v for v in values if v not in paths)]))
    files = [f for f in found_all if isinstance(f, Path)]
    results: Generator[FileResult, None, None]
    if jobs > 1 and visit is None and len(files) >= PARALLEL_FROM:
        results = _in_processes(files, rules, decisions, fix, forced, jobs, max_file_size)
    else:
        results = (check_file(f, rules, decisions, fix, visit, bool(forced) and absolute(f) in forced,
                              max_file_size) for f in files)
    with fewer_collections(), closing(results):  # closing: worker processes end with the run, however it ends
        for found in progress(found_all) if progress is not None else found_all:
            if isinstance(found, Skipped):
                result.files.append(FileResult(found.file, skipped=[found]))
            elif isinstance(found, FileError):
                result.files.append(FileResult(found.file, errors=[found]))
            else:
                result.files.append(next(results))
    result.rules = [rule.id for rule in rules]
    for rule in rules:  # rules whose findings depend on the whole run (values and policies together)
        after_run = getattr(rule, "after_run", None)
        if after_run is not None:
            after_run(result)
    return result


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector a tenth as often. Composing a file allocates tens of thousands of
    small objects that live until the file is done, and at the default threshold the collector keeps
    re-scanning them (about 10% of a scan). Node trees form cycles only through alias back-references;
    reference counting frees everything else file by file."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 7000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _check_here(rules: list[Rule], decisions: Decisions | None, fix: bool, forced: frozenset[Path],
                max_file_size: int, path: Path) -> FileResult:
    """check_file as a worker process runs it: only a file that changes keeps its text (for diffs and
    writing), so there is less to send back."""
    result = check_file(path, rules, decisions, fix, None, bool(forced) and absolute(path) in forced,
                        max_file_size)
    if result.new_text is None:
        result.source = None
    return result


def _in_processes(files: list[Path], rules: list[Rule], decisions: Decisions | None, fix: bool,
                  forced: frozenset[Path], jobs: int, max_file_size: int) -> Generator[FileResult, None, None]:
    """The files checked in `jobs` processes, in the files' order. A file whose worker process died gets
    an error; the others are still checked."""
    from functools import partial

    from codemod.workers import in_workers

    return in_workers(files, partial(_check_here, rules, decisions, fix, forced, max_file_size), _lost, jobs)


def _lost(path: Path, why: str) -> FileResult:
    """The result of a file that came to harm in a worker process (see codemod.workers)."""
    message = f"internal error ({why}); the file is untouched, please report this"
    return FileResult(display_path(path), errors=[FileError(display_path(path), None, message)])


def check_file(path: Path, rules: list[Rule], decisions: Decisions | None, fix: bool,
               visit: Visit | None = None, values_file: bool = False,
               max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> FileResult:
    """One file, whatever it holds: a failure here becomes that file's error, never the run's end.
    `values_file`: read it as Helm values whatever its name; a file above `max_file_size` bytes is an error."""
    try:
        return _check_file(path, rules, decisions, fix, visit, values_file or is_values_name(path), values_file,
                           max_file_size)
    except RecursionError:
        return FileResult(display_path(path), errors=[FileError(display_path(path), None, "nested too deeply")])
    except Exception as exc:  # a plugin rule or an unforeseen input: report it, go on with the other files
        message = f"internal error ({type(exc).__name__}: {exc}); the file is untouched, please report this"
        return FileResult(display_path(path), errors=[FileError(display_path(path), None, message)])


def _check_file(path: Path, rules: list[Rule], decisions: Decisions | None, fix: bool,
                visit: Visit | None, values_file: bool, forced: bool = False,
                max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> FileResult:
    values_file = values_file and HELM_VALUES in _rules_by_kind(rules)
    read = read_source(path, _words(rules), always=values_file, max_size=max_file_size)
    if read is None:
        return FileResult(str(path))
    if isinstance(read, Skipped):
        return FileResult(read.file, skipped=[read])
    if isinstance(read, FileError):
        return FileResult(read.file, errors=[read])
    source = read
    result = FileResult(source.display, source=source)
    words = None if values_file else _text_words(rules)
    relevant = relevant_only(source.text, words)  # documents that hold no kind a rule wants are never parsed
    try:
        docs = parse_stream(relevant)
    except ParseError as exc:
        if template_reason(relevant) is not None:
            result.skipped.append(Skipped(source.display, TEMPLATE_REASON))
        elif values_file and not forced and not any(word in source.raw for word in _words(rules)):
            result.skipped.append(Skipped(source.display, "not YAML (read only because its name looks like "
                                          "Helm values)"))
        else:
            result.errors.append(FileError(source.display, exc.line, f"cannot parse: {_parse_problem(exc, relevant)}"))
        return result
    if has_template_tag(source.text):  # judged on the whole text, as a template engine sees it
        try:
            whole = docs if relevant is source.text else parse_stream(source.text)
            reason = template_reason(source.text, scalar_spans(whole))
        except ParseError:
            reason = TEMPLATE_REASON
        if reason is not None:
            result.skipped.append(Skipped(source.display, reason))
            return result
    context = Context(source.path, source.display, decisions, source.text, values_file,
                      cilium_named=forced or "cilium" in source.display.lower())
    result.values_file = values_file
    result.facts = context.facts
    found = _check_documents(docs, rules, context, result, visit)
    if found is None:
        return result
    result.findings = found
    if fix:
        try:
            result.new_text = rewrite_text(source, docs, found, rules, context)
        except Unsafe as exc:
            result.errors.append(FileError(source.display, exc.line, f"not rewritten: {exc.message}"))
    return result


def _parse_problem(exc: ParseError, text: str) -> str:
    """The parser's message, or a plainer one for the usual mistake: a tab in the indentation."""
    if exc.line is not None and "cannot start any token" in exc.message:
        lines = text.split("\n", exc.line)
        line = lines[exc.line - 1] if exc.line <= len(lines) else ""
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            return "tab character in the indentation (YAML indents with spaces only)"
    return exc.message


def _check_documents(docs: list[Document], rules: list[Rule], context: Context,
                     result: FileResult | None, visit: Visit | None = None,
                     text: str | None = None) -> list[Finding] | None:
    findings: list[Finding] = []
    by_kind = _rules_by_kind(rules)
    for doc in docs:
        doc_policies = list(manifests(doc, by_kind))
        if HELM_VALUES in by_kind:
            doc_policies += values_in(doc, context.values_file, context.text if text is None else text,
                                      context.cilium_named)
        if doc_policies and doc.duplicate_keys:
            key, line = doc.duplicate_keys[0]
            if result is not None:
                result.errors.append(FileError(context.display, line, f"duplicate key {key!r}"))
            return None
        for policy in doc_policies:
            if visit is not None and policy.kind in KINDS:
                visit(policy, context)
            policy_findings = [_with_severity(f, rule) for rule in by_kind[policy.kind]
                               for f in rule.check(policy, context)]
            findings += policy_findings
            if result is not None and policy.kind in KINDS:
                result.verdicts.append(_verdict(policy, policy_findings))
    findings.sort(key=lambda f: (f.document, f.line, f.rule))
    return findings


def _rules_by_kind(rules: list[Rule]) -> dict[str, list[Rule]]:
    """Kind -> the rules that look at it; the policy kinds are always read (verdicts, `visit`). Shared
    between calls: read it, never change it."""
    return _index(rules)[0]


def _words(rules: list[Rule]) -> tuple[bytes, ...]:
    """Bytes a file must contain to hold a manifest any rule looks at (every policy kind says NetworkPolicy)."""
    return _index(rules)[1]


def _text_words(rules: list[Rule]) -> tuple[str, ...]:
    """The words a document must hold to matter to the rules (the same as the file prefilter's)."""
    return _index(rules)[2]


_RuleIndex = tuple[dict[str, list[Rule]], tuple[bytes, ...], tuple[str, ...]]
_INDEXED: list[tuple[tuple[Rule, ...], _RuleIndex]] = []  # the last few rule lists indexed


def _index(rules: list[Rule]) -> _RuleIndex:
    """What the engine asks of a rule list for every file and document, worked out once per list (the
    same rules in the same order; a list changed in place is a new list)."""
    for known, index in _INDEXED:
        if len(known) == len(rules) and all(a is b for a, b in zip(known, rules, strict=True)):
            return index
    by_kind: dict[str, list[Rule]] = {kind: [] for kind in KINDS}
    for rule in rules:
        for kind in describe(rule).kinds:
            by_kind.setdefault(kind, []).append(rule)
    words = {k.encode() for k in by_kind if b"NetworkPolicy" not in k.encode() and k != HELM_VALUES}
    if HELM_VALUES in by_kind:
        words.update(HELM_WORDS)
    raw = (POLICY_WORD, *sorted(words))
    made = (by_kind, raw, tuple(word.decode() for word in raw))
    _INDEXED[:] = [(tuple(rules), made), *_INDEXED[:3]]
    return made


def _with_severity(finding: Finding, rule: Rule) -> Finding:
    if not finding.severity:
        finding.severity = describe(rule).severity
    return finding


def _verdict(policy: Policy, findings: Iterable[Finding]) -> PolicyVerdict:
    affected = any(f.rule == "implicit-cluster-selector" for f in findings)
    return PolicyVerdict(policy.kind, policy.namespace, policy.name, affected)


def rewrite_text(source: SourceFile, docs: list[Document], findings: list[Finding], rules: list[Rule],
                 context: Context) -> str | None:
    """The new text with every fix applied, verified; None when nothing changes."""
    ops = [op for f in findings for op in f.fix]
    if not ops:
        return None
    from codemod.edits import apply_edits  # the splicing machinery: only for files that change
    from codemod.planner import Planner
    from codemod.style import detect_style
    from codemod.verify import verify

    json_mode = source.path.suffix == ".json"
    edits: list[TextEdit] = []
    for doc in docs:
        doc_ops = [op for op in ops if op.document == doc.index]
        if doc_ops:
            style = detect_style(doc, source.text, source.newline, json_mode)
            edits += _plan(Planner(source.text, doc, style), doc_ops)
    inner = {e.document.index: e for doc in docs if any(op.document == EMBEDDED + doc.index for op in ops)
             for e in [embedded(doc, source.text)] if e is not None}
    for index, e in inner.items():  # values inside a string: planned on the shadow text, same offsets
        style = detect_style(e.document, e.shadow, source.newline, False)
        edits += _plan(Planner(e.shadow, e.document, style), [op for op in ops if op.document == index])
    new_text = apply_edits(source.text, edits)
    words = None if context.values_file else _text_words(rules)
    new_docs = verify(source.text, new_text, docs, [*ops, *_embedded_results(inner, new_text, words)], words)
    for e in inner.values():
        after = embedded(new_docs[e.document.shown_index], new_text)
        if after is None:
            raise Unsafe("the rewritten values string is no longer a literal block of YAML", None)
        verify(e.shadow, after.shadow, [e.document], [op for op in ops if op.document == e.document.index])
    _check_stable(new_docs, new_text, rules, context, findings)
    return new_text


def _plan(planner: Planner, ops: list[Op]) -> list[TextEdit]:
    """Text edits for one document's changes; changes that land on one shared node edit it once."""
    edits: list[TextEdit] = []
    groups: dict[tuple[int, tuple[object, ...]], list[Op]] = {}
    nodes: dict[int, Node | None] = {}
    for op in ops:
        node, signature = planner.locate(op)
        nodes[id(node)] = node
        groups.setdefault((id(node), signature), []).append(op)
    for (node_id, _), group in groups.items():
        node = nodes[node_id]
        uses = planner.uses(node) if node is not None else 1
        if uses > 1 and len({op.path for op in group}) == uses:
            edits += planner.plan(group[0], every_use=True)  # one edit serves every place sharing it
        else:
            for op in group:
                edits += planner.plan(op)
    return edits + planner.finish()


def _embedded_results(inner: dict[int, Embedded], new_text: str, words: tuple[str, ...] | None) -> list[Op]:
    """For the outer verification: each edited values string becomes whatever it now holds (its content is
    verified on its own, against the intended changes)."""
    if not inner:
        return []
    try:
        new_docs = parse_stream(new_text, words)
    except ParseError as exc:
        raise Unsafe(f"the rewritten text does not parse ({exc.message})", exc.line) from None
    results: list[Op] = []
    for e in inner.values():
        outer = e.document.shown_index
        root = new_docs[outer].root if outer < len(new_docs) else None
        value = to_data(root)
        for part in e.path:
            value = value.get(part) if isinstance(value, dict) else None
        results.append(Replace(outer, e.path, value))
    return results


def rewrite_some(result: FileResult, chosen: list[Finding], rules: list[Rule], decisions: Decisions | None) -> str:
    """The file's text with only the chosen findings fixed (interactive review), verified like any rewrite."""
    assert result.source is not None
    source = result.source
    context = Context(source.path, source.display, decisions, source.text, result.values_file)
    docs = parse_stream(source.text, None if result.values_file else _text_words(rules))
    return rewrite_text(source, docs, chosen, rules, context) or source.text


def _check_stable(new_docs: list[Document], new_text: str, rules: list[Rule], context: Context,
                  applied: list[Finding]) -> None:
    """A second pass over the rewritten documents must find nothing left to change where changes were made."""
    done = {(f.rule, f.document, f.path) for f in applied if f.fix}
    fixing = {rule for rule, _, _ in done}  # only the rules that made changes can find one left over
    if fixing <= {r.id for r in rules}:
        rules = [r for r in rules if r.id in fixing]
    again = _check_documents(new_docs, rules, context, None, text=new_text) or []
    leftover = [f for f in again if f.fix and (f.rule, f.document, f.path) in done]
    if leftover:
        f = leftover[0]
        raise Unsafe(f"a second pass would change {f.path} again (not idempotent)", f.line)
