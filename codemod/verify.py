"""Black's rule for YAML: a rewrite is written only if it provably means the old data plus exactly the
intended changes, keeps every comment, and (checked by the engine) a second pass changes nothing.

The data is compared twice: once through the position-aware node trees the edits were planned on, and once
through PyYAML's own loader (its constructor resolves aliases, merge keys, tags and scalars itself), so a
mistake in our composer or data model cannot hide a wrong edit. The second load costs little: libyaml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codemod.documents import (
    Document,
    Mapping,
    ParseError,
    check_syntax,
    comments,
    deref,
    format_path,
    join_kept,
    parse_stream,
    relevant_only,
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
    """The changed documents of the new text as PyYAML's loader reads them must be the intended data.

    First against `expected` (our reading of the old text plus the changes): where the two loaders agree,
    the old text needs no second load. That is as strong as comparing with PyYAML's own reading of the old
    text: every byte the edits did not touch reads the same in both texts, so PyYAML's new data equalling
    our old data there means PyYAML reads the old text as we do. Where they differ (YAML 1.1 scalars such as
    `yes` or dates, which PyYAML reads as booleans and timestamps), PyYAML's reading of the old text plus the
    changes decides. Skipped only when PyYAML cannot load the original either."""
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
        if _loads(old_text):
            raise Unsafe(f"the rewritten text does not load ({str(exc).splitlines()[0]})", None) from None
        return  # nothing independent to compare with (say, a tag the safe loader does not know)
    if len(new) == len(old_docs) and all(new[i] == expected[old_docs[i].index] for i in wanted):
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


def _loads(text: str) -> bool:
    """True when PyYAML's safe loader reads the text."""
    import yaml

    try:
        for _ in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            pass
    except yaml.YAMLError:
        return False
    return True


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
