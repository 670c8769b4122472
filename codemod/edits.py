"""Edit requests, and applying text edits.

Rules say what they want in data terms (append this item to that list, add this key to that mapping,
creating what is missing): the ops below. `codemod.planner` turns them into splices of the original text;
`apply_to_data` makes the same change on plain data so verification knows what the result must mean.
The requests are named tuples: immutable, and cheap to define (this module is on every run's start-up).
"""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

from codemod.documents import Mapping, Path


class Append(NamedTuple):
    """Append `item` to the list at `path`, creating the list (and missing mappings above it) if absent."""

    document: int
    path: Path
    item: object


class Insert(NamedTuple):
    """Add the key at the end of `path` with `value`, creating missing mappings above it."""

    document: int
    path: Path
    value: object


class Delete(NamedTuple):
    """Remove the mapping entry at `path`."""

    document: int
    path: Path


class Replace(NamedTuple):
    """Replace the value at `path` with `value`, written in flow style in place."""

    document: int
    path: Path
    value: object


class ReplaceEntry(NamedTuple):
    """Replace the mapping entry at `path` with `key: value`, in the entry's place and style."""

    document: int
    path: Path
    key: str
    value: object


class Nest(NamedTuple):
    """Move the entries `keys` of the block mapping at `path` under its child mapping `under` (created where
    the first of them stood, or the one already there): the entries keep their text, comments and order,
    one indentation step deeper. How Helm values keys are moved to a new parent key."""

    document: int
    path: Path
    keys: tuple[str, ...]
    under: str


Op = Append | Insert | Delete | Replace | ReplaceEntry | Nest


def remove_entry(document: int, path: Path, mapping: Mapping, key: str) -> Op:
    """Remove one key of a mapping; the last one leaves `{}` behind rather than a null value."""
    if len(mapping.pairs) > 1:
        return Delete(document, (*path, key))
    return Replace(document, path, {})


class TextEdit(NamedTuple):
    start: int
    end: int
    text: str


class Unsafe(Exception):
    """A change that cannot be made without touching more than intended."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# ---------------------------------------------------------------------------------------------------------
# Data side: what the document must look like after the change (used by verification).


def apply_to_data(data: object, op: Op) -> None:
    """Make the change on plain data (an independent copy of the parsed document)."""
    *parents, last = op.path
    container = data
    for i, part in enumerate(parents):
        if isinstance(part, str) and isinstance(container, dict) and container.get(part) is None:
            container[part] = build_missing(parents[i + 1:], last, op)
            return
        container = container[part]  # type: ignore[index]
    if isinstance(op, Append):
        if not isinstance(container, dict):
            raise TypeError("append target parent is not a mapping")
        if container.get(last) is None:
            container[last] = [op.item]
        else:
            container[last].append(op.item)
    elif isinstance(op, Insert):
        container[last] = op.value  # type: ignore[index]
    elif isinstance(op, Delete):
        del container[last]  # type: ignore[attr-defined]
    elif isinstance(op, ReplaceEntry):
        del container[last]  # type: ignore[attr-defined]
        container[op.key] = op.value  # type: ignore[index]
    elif isinstance(op, Nest):
        mapping = container[last]  # type: ignore[index]
        moved = {k: mapping.pop(k) for k in op.keys if k in mapping}
        if mapping.get(op.under) is None:
            mapping[op.under] = {}
        mapping[op.under].update(moved)
    else:
        container[last] = op.value  # type: ignore[index]


def build_missing(rest: list[str | int], last: str | int, op: Op) -> object:
    """The value that creates every missing level down to the change."""
    value: object = [op.item] if isinstance(op, Append) else getattr(op, "value", None)
    value = {last: value}
    for part in reversed(rest):
        value = {part: value}
    return value


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Splice edits into the text, back to front; edits at one offset keep their order."""
    ordered = sorted(enumerate(edits), key=lambda pair: (pair[1].start, pair[1].end, pair[0]))
    for (_, a), (_, b) in pairwise(ordered):
        if b.start < a.end:
            raise Unsafe("two changes overlap", text.count("\n", 0, b.start) + 1)
    out = text
    for _, edit in reversed(ordered):
        out = out[:edit.start] + edit.text + out[edit.end:]
    return out
