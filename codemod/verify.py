"""Black's rule for YAML: a rewrite is written only if it provably means the old data plus exactly the
intended changes, keeps every comment, and (checked by the engine) a second pass changes nothing.

The data is compared twice: once through the position-aware node trees the edits were planned on, and once
through PyYAML's own loader (its constructor resolves aliases, merge keys, tags and scalars itself), so a
mistake in our composer or data model cannot hide a wrong edit. The second load costs little: libyaml.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from codemod.documents import (
    Alias,
    Document,
    Mapping,
    Node,
    ParseError,
    Scalar,
    check_syntax,
    comments,
    deref,
    format_path,
    join_kept,
    parse_stream,
    relevant_only,
    resolve_plain,
    sections,
    to_data,
)
from codemod.documents import Sequence as SequenceNode
from codemod.edits import Op, Unsafe, apply_to_data


def verify(old_text: str, new_text: str, old_docs: list[Document], ops: list[Op],
           words: tuple[str, ...] | None = None) -> list[Document]:
    """The documents of the new text; raises Unsafe when the rewrite is anything but the intended change.
    `words`: the old documents were composed only where they hold one (see `relevant_only`); documents
    without them are never edited, and are compared blanked on both sides."""
    changed = {op.document for op in ops}
    old_pieces, new_pieces = sections(old_text), sections(new_text)
    by_piece = words is not None and old_pieces is not None and new_pieces is not None \
        and [i for i, _ in old_pieces] == [i for i, _ in new_pieces] \
        and {i for i, _ in old_pieces if i is not None} == {d.index for d in old_docs}
    if by_piece:  # cut at the same markers: only the changed documents need composing again
        assert old_pieces is not None and new_pieces is not None
        old_wanted = join_kept(old_pieces, lambda i, _: i in changed)
        new_wanted = join_kept(new_pieces, lambda i, _: i in changed)
    else:
        old_wanted, new_wanted = relevant_only(old_text, words), relevant_only(new_text, words)
    try:
        new_docs = parse_stream(new_wanted)
    except ParseError as exc:
        raise Unsafe(f"the rewritten text does not parse ({exc.message})", exc.line) from None
    if len(new_docs) != len(old_docs):
        raise Unsafe("the rewritten text has a different number of documents", None)
    if new_wanted != new_text:  # the documents never composed (no policy) must parse too
        try:
            if by_piece and words is not None:
                assert new_pieces is not None  # only those pieces: the others are composed or compared
                check_syntax(join_kept(new_pieces, lambda _, piece: not any(word in piece for word in words)))
            else:
                check_syntax(new_text)
        except ParseError as exc:
            raise Unsafe(f"the file is not valid YAML where it holds no policy ({exc.message})", exc.line) from None
    if by_piece:  # comments are compared where documents changed; the rest is compared byte for byte
        assert old_pieces is not None and new_pieces is not None
        lost = comments(old_text, old_docs, _ranges(old_pieces, changed)) - \
            comments(new_text, new_docs, _ranges(new_pieces, changed))
    else:
        lost = comments(old_text, old_docs) - comments(new_text, new_docs)
    if lost:
        comment = next(iter(lost))
        line = old_text.count("\n", 0, old_text.find(comment)) + 1
        raise Unsafe(f"the change would lose the comment {comment!r}", line)
    unchanged_pieces = dict(old_pieces or []) if by_piece else {}
    new_unchanged = dict(new_pieces or []) if by_piece else {}
    expected: dict[int, object] = {}  # the intended data of each changed document, by index
    for old, new in zip(old_docs, new_docs, strict=True):
        if old.index in changed:
            expected[old.index] = _expected(to_data(old.root), ops, old.index)
            _compare(expected[old.index], to_data(new.root), old)
        elif by_piece:
            if unchanged_pieces.get(old.index) != new_unchanged.get(old.index):  # no change meant: not a byte
                raise Unsafe(f"verification failed in document {old.index}: it changed, but no change was "
                             "meant there", old.root.line + 1 if old.root is not None else None)
        elif _text_of(old, old_text) != _text_of(new, new_text):  # no change was meant here: not a byte
            raise Unsafe(f"verification failed in document {old.index}: it changed, but no change was meant "
                         "there", old.root.line + 1 if old.root is not None else None)
    _compare_independently(old_wanted, new_wanted, old_docs, ops, expected)
    return new_docs


def _ranges(pieces: list[tuple[int | None, str]], changed: set[int]) -> list[tuple[int, int]]:
    """Where the changed documents' sections lie in the text."""
    out, at = [], 0
    for index, piece in pieces:
        if index in changed:
            out.append((at, at + len(piece)))
        at += len(piece)
    return out


def _text_of(doc: Document, text: str) -> str | None:
    return None if doc.root is None else text[doc.root.start:doc.root.end]


def _expected(data: object, ops: list[Op], index: int) -> object:
    for op in ops:
        if op.document == index:
            try:
                apply_to_data(data, op)
            except (KeyError, IndexError, TypeError, AttributeError) as exc:
                raise Unsafe(f"the intended change does not fit the data ({exc!r})", None) from None
    return data


def _compare(expected: object, actual: object, doc: Document, parser: str = "") -> None:
    if expected == actual:
        return
    from deepdiff import DeepDiff

    diff = DeepDiff(expected, actual, view="tree")
    paths = [item.path(output_format="list") for items in diff.values() for item in items]
    where: list[str | int] = paths[0] if paths else []
    raise Unsafe(f"verification{parser} failed in document {doc.index}: unintended change at "
                 f"{format_path(tuple(where)) or 'the document root'}", _line_of(doc, tuple(where)))


def _compare_independently(old_text: str, new_text: str, old_docs: list[Document], ops: list[Op],
                           expected: dict[int, object]) -> None:
    """The changed documents of the new text as PyYAML's loader reads them must be PyYAML's reading of the
    old ones plus the intended changes. Skipped only when PyYAML cannot load the original either.

    When every scalar of a changed old document means the same to PyYAML (YAML 1.1) as to us (YAML 1.2 core;
    see `_read_alike`), PyYAML's reading of it is our reading, so `expected` (ours plus the changes) stands in
    for it and the old text is not loaded a second time. Otherwise (a `yes`, `010` or date somewhere, a
    tag, a merge key) PyYAML reads the old text too, as YAML 1.1 readers such as Helm and kubectl would."""
    import yaml
    from yaml import YAMLError

    wanted = {i for i, doc in enumerate(old_docs) if doc.index in expected}

    def load(text: str, copy: Callable[[Any], Any]) -> list[object]:
        """Every document composed (libyaml), only the changed ones constructed into data."""
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        out: list[object] = []
        try:
            while loader.check_node():
                node = loader.get_node()
                out.append(copy(loader.construct_document(node)) if len(out) in wanted else None)
        finally:
            loader.dispose()
        return out

    try:
        new = load(new_text, _same)  # only compared, never changed: shared (aliased) data may stay shared
    except YAMLError as exc:
        try:
            load(old_text, _same)
        except YAMLError:
            return  # nothing independent to compare with (say, a tag the safe loader does not know)
        raise Unsafe(f"the rewritten text does not load ({str(exc).splitlines()[0]})", None) from None
    if len(new) == len(old_docs) and all(_read_alike(old_docs[i].root) for i in wanted) \
            and all(new[i] == expected[old_docs[i].index] for i in wanted):
        return
    try:
        old = load(old_text, _unshared if "*" in old_text else _same)  # the changes are applied to it
    except YAMLError:
        return
    if len(old) != len(old_docs) or len(new) != len(old):
        return  # the parsers disagree on what a document is (empty ones); the main comparison stands
    for i, (doc, before, after) in enumerate(zip(old_docs, old, new, strict=True)):
        if i in wanted:
            _compare(_expected(before, ops, doc.index), after, doc, " (second loader)")


def _read_alike(root: Node | None) -> bool:
    """True when PyYAML's safe loader reads this document exactly as `to_data` does: no tag, no merge key,
    no key that is not a scalar, and every plain scalar meaning the same in YAML 1.1 and 1.2 (not `yes`,
    `010`, `1_000`, `1:30`, a date, `.nan`...). Aliases are read where their anchors are written."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, Alias):
            continue
        if node.tag is not None:
            return False
        if isinstance(node, Scalar):
            if node.style is None and not _plain_alike(node.value):
                return False
        elif isinstance(node, Mapping):
            if node.has_merge or not all(isinstance(k, Scalar) for k, _ in node.pairs):
                return False
            stack += [n for pair in node.pairs for n in pair]
        elif isinstance(node, SequenceNode):
            stack += node.items
    return True


_ALIKE: dict[str, bool] = {}  # plain scalars already judged by `_plain_alike`


def _plain_alike(value: str) -> bool:
    """Whether a plain scalar means the same to PyYAML's safe loader as to `resolve_plain`."""
    found = _ALIKE.get(value)
    if found is None:
        ours, theirs = resolve_plain(value), _pyyaml_plain(value)
        found = type(ours) is type(theirs) and ours == theirs
        if len(value) <= 64 and len(_ALIKE) < 50_000:
            _ALIKE[value] = found
    return found


def _pyyaml_plain(value: str) -> object:
    """What PyYAML's safe loader makes of a plain scalar (its own resolver and constructors)."""
    import yaml

    resolver, constructor = _pyyaml_readers()
    tag = resolver.resolve(yaml.ScalarNode, value, (True, False))
    if tag == "tag:yaml.org,2002:str":
        return value
    construct = yaml.SafeLoader.yaml_constructors.get(tag)
    if construct is None:
        return (tag, value)  # `<<` and `=`: like no scalar of ours
    try:
        return construct(constructor, yaml.ScalarNode(tag, value))
    except (ValueError, yaml.YAMLError):
        return (tag, value)


@lru_cache(maxsize=1)
def _pyyaml_readers() -> tuple[Any, Any]:
    import yaml

    return yaml.resolver.Resolver(), yaml.constructor.SafeConstructor()


def _unshared(data: Any) -> Any:
    """Plain dicts and lists with every alias an independent copy, so a change at one use shows."""
    if isinstance(data, dict):
        return {k: _unshared(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_unshared(v) for v in data]
    return data


def _same(data: Any) -> Any:
    return data


def _line_of(doc: Document, path: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node along `path` that exists, where it is written (an alias's own line)."""
    node = doc.root
    line = node.line + 1 if node is not None else None
    for part in path:
        container = deref(node)
        child = None
        if isinstance(container, Mapping) and isinstance(part, str):
            child = container.get(part)
        elif isinstance(container, SequenceNode) and isinstance(part, int) and part < len(container.items):
            child = container.items[part]
        if child is None:
            break
        node, line = child, child.line + 1
    return line
