"""Edit requests, and turning them into small splices of the original text.

Rules say what they want in data terms (append this item to that list, add this key to that mapping,
creating what is missing). This module finds where that lands in the text, writes the new lines in the
style around them (block or flow, indentation, dash offset, line endings, JSON quoting), and never touches
anything else. It refuses, with a reason, any change that would also change an aliased node.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING

from codemod.documents import Alias, Document, Mapping, Node, Path, Scalar, Sequence, deref, resolve_plain, walk

if TYPE_CHECKING:
    from collections import Counter


@dataclass(frozen=True)
class Append:
    """Append `item` to the list at `path`, creating the list (and missing mappings above it) if absent."""

    document: int
    path: Path
    item: object


@dataclass(frozen=True)
class Insert:
    """Add the key at the end of `path` with `value`, creating missing mappings above it."""

    document: int
    path: Path
    value: object


@dataclass(frozen=True)
class Delete:
    """Remove the mapping entry at `path`."""

    document: int
    path: Path


@dataclass(frozen=True)
class Replace:
    """Replace the value at `path` with `value`, written in flow style in place."""

    document: int
    path: Path
    value: object


@dataclass(frozen=True)
class ReplaceEntry:
    """Replace the mapping entry at `path` with `key: value`, in the entry's place and style."""

    document: int
    path: Path
    key: str
    value: object


Op = Append | Insert | Delete | Replace | ReplaceEntry


def remove_entry(document: int, path: Path, mapping: Mapping, key: str) -> Op:
    """Remove one key of a mapping; the last one leaves `{}` behind rather than a null value."""
    if len(mapping.pairs) > 1:
        return Delete(document, (*path, key))
    return Replace(document, path, {})


@dataclass(frozen=True)
class TextEdit:
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
            container[part] = _build(parents[i + 1:], last, op)
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
    else:
        container[last] = op.value  # type: ignore[index]


def _build(rest: list[str | int], last: str | int, op: Op) -> object:
    """The value that creates every missing level down to the change."""
    value: object = [op.item] if isinstance(op, Append) else getattr(op, "value", None)
    value = {last: value}
    for part in reversed(rest):
        value = {part: value}
    return value


# ---------------------------------------------------------------------------------------------------------
# Text side.


@dataclass
class Style:
    newline: str = "\n"
    json: bool = False
    seq_offset: int = 2  # columns from a key to the dash of its block list
    map_step: int = 2  # columns from a key to the keys of its block mapping


def detect_style(doc: Document, text: str, newline: str, json_mode: bool) -> Style:
    """Indentation habits of a document, read from its first nested list and mapping."""
    return near_style(Style(newline=newline, json=json_mode), _block_mappings(doc.root), text)


def near_style(base: Style, mappings: Iterable[Node | None], text: str) -> Style:
    """`base` with the dash offset and mapping step of the first of `mappings` that shows them."""
    seq_offset: int | None = None
    map_step: int | None = None
    for node in mappings:
        mapping = deref(node)
        if not isinstance(mapping, Mapping) or mapping.flow:
            continue
        for key, value in mapping.pairs:
            if isinstance(value, Sequence) and not value.flow and value.items and value.items[0].line > key.line:
                dash = _dash_column(value, text)
                if seq_offset is None and dash is not None:
                    seq_offset = max(0, dash - key.column)
            elif isinstance(value, Mapping) and not value.flow and value.pairs \
                    and value.pairs[0][0].line > key.line and map_step is None:
                map_step = max(1, value.pairs[0][0].column - key.column)
        if seq_offset is not None and map_step is not None:
            break
    return replace(base, seq_offset=base.seq_offset if seq_offset is None else seq_offset,
                   map_step=base.map_step if map_step is None else map_step)


def _block_mappings(root: Node | None) -> Iterator[Mapping]:
    """Block mappings in document order (aliases not followed)."""
    stack: list[Node | None] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if not node.flow:
                yield node
            stack.extend(reversed([v for _, v in node.pairs]))
        elif isinstance(node, Sequence):
            stack.extend(reversed(node.items))


def _dash_column(seq: Sequence, text: str) -> int | None:
    first = seq.items[0]
    line_start = text.rfind("\n", 0, first.start) + 1
    before = text[line_start:first.start].rstrip()
    return len(before) - 1 if before.endswith("-") else None


_PLAIN = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_./]*$")
# go-yaml v2 (sigs.k8s.io/yaml, so kubectl) also reads these as booleans; PyYAML's YAML 1.1 does not.
_YAML11_BOOLEANS = frozenset({"y", "Y", "n", "N"})


def scalar_text(value: object, style: Style) -> str:
    """A scalar as YAML reads it back as the same string under YAML 1.1 and 1.2 (`no`, `0755` get quoted)."""
    if style.json or not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if _PLAIN.match(value) and value not in _YAML11_BOOLEANS and isinstance(resolve_plain(value), str):
        import yaml

        if isinstance(yaml.safe_load(value), str):
            return value
    return json.dumps(value, ensure_ascii=False)


def flow_text(value: object, style: Style) -> str:
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, _RawMap):
        return "{" + ", ".join(f"{k}: {flow_text(v, style)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar_text(k, style)}: {flow_text(v, style)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow_text(v, style) for v in value) + "]"
    return scalar_text(value, style)


def block_entry(key: str, value: object, indent: int, style: Style) -> list[str]:
    """`key: value` as block lines at `indent` (lines without line endings)."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = [f"{pad}{scalar_text(key, style)}:"]
        for k, v in value.items():
            lines += block_entry(k, v, indent + style.map_step, style)
        return lines
    if isinstance(value, list) and value:
        lines = [f"{pad}{scalar_text(key, style)}:"]
        for item in value:
            lines += block_item(item, indent + style.seq_offset, style)
        return lines
    return [f"{pad}{scalar_text(key, style)}: {flow_text(value, style)}"]


def block_item(item: object, dash: int, style: Style) -> list[str]:
    """A list item as block lines with its dash at column `dash`."""
    if isinstance(item, dict) and item:
        lines: list[str] = []
        for k, v in item.items():
            lines += block_entry(k, v, dash + 2, style)
        lines[0] = " " * dash + "- " + lines[0][dash + 2:]
        return lines
    return [" " * dash + "- " + flow_text(item, style)]


# ---------------------------------------------------------------------------------------------------------
# Alias expansion: the node an alias names, re-written in flow style at the alias, with the change made.


@dataclass
class _Raw:
    text: str


@dataclass
class _RawMap:
    pairs: list[tuple[str, object]]


def _raw_copy(node: Node, text: str) -> object:
    if isinstance(node, Alias):
        return _Raw("*" + node.name)
    if isinstance(node, Scalar):
        if node.style in ("|", ">") or "\n" in text[node.start:node.end]:
            raise Unsafe("an aliased selector holds a multi-line value; expand the alias by hand", node.line + 1)
        if node.style is None and (any(c in node.value for c in ",[]{}") or ": " in node.value):
            return _Raw(json.dumps(node.value, ensure_ascii=False))  # a block plain scalar in flow context
        raw = text[node.start:node.end]
        if node.anchor:
            raw = re.sub(r"^&\S+\s+", "", raw)
        return _Raw(raw)
    if isinstance(node, Sequence):
        return [_raw_copy(item, text) for item in node.items]
    if isinstance(node, Mapping):
        if node.has_merge:
            raise Unsafe("an aliased selector uses a YAML merge key (<<); expand it by hand", node.line + 1)
        pairs: list[tuple[str, object]] = []
        for k, v in node.pairs:
            key = _raw_copy(k, text)
            if not isinstance(key, _Raw):
                raise Unsafe("an aliased selector has a complex key", k.line + 1)
            pairs.append((key.text, _raw_copy(v, text)))
        return _RawMap(pairs)
    raise TypeError(type(node))  # pragma: no cover


def _raw_get(container: object, part: str | int) -> object:
    if isinstance(container, _RawMap):
        for k, v in container.pairs:
            if _unquote(k) == part:
                return v
        return None
    if isinstance(container, list) and isinstance(part, int):
        return container[part]
    return None


def _unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return key[1:-1]
    return key


def _raw_apply(root: object, path: Path, op: Op, style: Style) -> None:
    """The same change as apply_to_data, on a raw copy whose untouched scalars keep their text."""
    *parents, last = path
    container = root
    for i, part in enumerate(parents):
        child = _raw_get(container, part)
        if child is None and isinstance(container, _RawMap) and isinstance(part, str):
            container.pairs.append((scalar_text(part, style), _build(parents[i + 1:], last, op)))
            return
        container = child
    if not isinstance(container, _RawMap) and not (isinstance(container, list) and isinstance(last, int)):
        raise Unsafe("cannot change this aliased value in place", None)
    if isinstance(op, Append):
        existing = _raw_get(container, last)
        if isinstance(existing, list):
            existing.append(op.item)
        elif existing is None and isinstance(container, _RawMap):
            container.pairs.append((scalar_text(last, style), [op.item]))
        else:
            raise Unsafe("cannot append to this aliased value", None)
    elif isinstance(op, Insert) and isinstance(container, _RawMap):
        container.pairs.append((scalar_text(last, style), op.value))
    else:
        raise Unsafe("only additions are made inside an expanded alias", None)


# ---------------------------------------------------------------------------------------------------------
# Planning the splice for one change.


class Planner:
    """Turns the changes for one document into text edits on the original text."""

    def __init__(self, text: str, doc: Document, style: Style) -> None:
        self.text = text
        self.doc = doc
        self.base_style = self.style = style
        self._uses: Counter[int] | None = None

    def locate(self, op: Op) -> tuple[Node | None, tuple[object, ...]]:
        """The node whose text the change edits, and what it does there relative to that node.

        Changes from several paths that land on one shared node with one signature edit it once."""
        *parents, last = op.path
        nodes, _ = self._walk(parents)
        container = deref(nodes[-1])
        rest: list[object] = [*parents[len(nodes) - 1:], last]
        if isinstance(op, Append) and len(nodes) - 1 == len(parents) and isinstance(container, Mapping):
            existing = deref(container.get(str(last)))
            if existing is not None:
                container, rest = existing, []
        payload = [getattr(op, "key", None), getattr(op, "item", getattr(op, "value", None))]
        return container, (type(op).__name__, tuple(rest), json.dumps(payload, sort_keys=True, default=str))

    def uses(self, node: Node) -> int:
        """How many places of the document (aliases expanded) hold this very node."""
        if self._uses is None:
            from collections import Counter

            self._uses = Counter(id(n) for _, n in walk(self.doc.root))
        return self._uses[id(node)]

    def plan(self, op: Op, every_use: bool = False) -> list[TextEdit]:
        """Text edits for one change. With `every_use`, the caller has checked that the same change is
        requested at every place that shares the node, so editing the node once is exact."""
        *parents, last = op.path
        nodes, alias_at = self._walk(parents)
        missing_from = len(nodes) - 1  # number of path parts that exist
        self.style = near_style(self.base_style, reversed(nodes), self.text)  # the habits closest to the change
        tail = deref(nodes[-1])
        if isinstance(tail, Mapping) and missing_from == len(parents) and tail.merged_only(str(last)):
            raise Unsafe(f"{last} comes from a YAML merge key (<<); expand it by hand", tail.line + 1)
        if alias_at is not None and not every_use:
            return self._expand_alias(op, alias_at)
        for node in nodes if not every_use else ():
            target = deref(node)
            if target is not None and target.shared:
                raise Unsafe(
                    f"the change lands inside &{target.anchor}, which is also used elsewhere (line "
                    f"{target.aliases[0].line + 1}); expand the alias by hand", target.line + 1)
        container = deref(nodes[-1])
        if missing_from < len(parents):
            key = parents[missing_from]
            value = _build(parents[missing_from + 1:], last, op)
            return self._add_key(container, str(key), value)
        if isinstance(op, Append):
            existing = container.get(str(last)) if isinstance(container, Mapping) else None
            target = deref(existing)
            if existing is None:
                return self._add_key(container, str(last), [op.item])
            if isinstance(existing, Alias) and isinstance(target, Sequence) and not every_use:
                return self._expand_alias_node(existing, [], op, str(last))
            if target is not None and target.shared and not every_use:
                raise Unsafe(f"the list is the anchor &{target.anchor}, also used elsewhere", target.line + 1)
            if isinstance(target, Sequence):
                return self._append(target, op.item)
            if isinstance(target, Scalar) and target.is_null:
                return self._replace_node(target, [op.item])
            raise Unsafe(f"{last} is not a list", target.line + 1 if target else None)
        if isinstance(op, Insert):
            if isinstance(container, Mapping) and container.get(str(last)) is not None:
                raise Unsafe(f"{last} is already set", container.line + 1)
            return self._add_key(container, str(last), op.value)
        if isinstance(op, Delete):
            return self._delete(container, str(last))
        if isinstance(op, ReplaceEntry):
            return self._replace_entry(container, str(last), op.key, op.value)
        if isinstance(container, Sequence) and isinstance(last, int):
            return self._replace_item(container, last, op.value)
        return self._replace(container, str(last), op.value)

    # -- walking -------------------------------------------------------------------------------------

    def _walk(self, parts: list[str | int]) -> tuple[list[Node], int | None]:
        """Nodes along `parts` (as written, aliases kept) and the index of the last alias step, if any."""
        node = self.doc.root
        if node is None:
            raise Unsafe("empty document", None)
        nodes: list[Node] = [node]
        alias_at: int | None = None
        for i, part in enumerate(parts):
            current = deref(node)
            child: Node | None = None
            if isinstance(current, Mapping) and isinstance(part, str):
                if current.merged_only(part):
                    raise Unsafe(f"{part} comes from a YAML merge key (<<); expand it by hand", current.line + 1)
                child = current.get(part)
            elif isinstance(current, Sequence) and isinstance(part, int) and part < len(current.items):
                child = current.items[part]
            if child is None:
                break  # the rest is missing (or `current` is null): the change creates it
            if isinstance(child, Alias):
                alias_at = i + 1
            nodes.append(child)
            node = child
        return nodes, alias_at

    def _expand_alias(self, op: Op, alias_at: int) -> list[TextEdit]:
        nodes, _ = self._walk(list(op.path[:-1]))
        alias = nodes[alias_at]
        assert isinstance(alias, Alias)
        return self._expand_alias_node(alias, list(op.path[alias_at:]), op, None)

    def _expand_alias_node(self, alias: Alias, sub: list[str | int], op: Op, key: str | None) -> list[TextEdit]:
        for node in self._walk_nodes_to(alias):
            target = deref(node)
            if target is not None and target.shared and node is not alias:
                raise Unsafe(f"the alias *{alias.name} sits inside &{target.anchor}, which is used elsewhere",
                             alias.line + 1)
        assert alias.target is not None
        copy = _raw_copy(alias.target, self.text)
        if key is not None:  # the alias is the list itself
            if not isinstance(copy, list):
                raise Unsafe(f"*{alias.name} is not a list", alias.line + 1)
            assert isinstance(op, Append)
            copy.append(op.item)
        else:
            _raw_apply(copy, tuple(sub), op, self.style)
        return [TextEdit(alias.start, alias.end, flow_text(copy, self.style))]

    def _walk_nodes_to(self, alias: Alias) -> list[Node]:
        """The chain of nodes from the root down to the alias (as written)."""
        def search(node: Node | None, chain: list[Node]) -> list[Node] | None:
            if node is None:
                return None
            chain = [*chain, node]
            if node is alias:
                return chain
            if isinstance(node, Alias):
                return None
            children: Iterable[Node] = ()
            if isinstance(node, Mapping):
                children = [v for _, v in node.pairs]
            elif isinstance(node, Sequence):
                children = node.items
            for child in children:
                found = search(child, chain)
                if found:
                    return found
            return None

        return search(self.doc.root, []) or []

    # -- splices -------------------------------------------------------------------------------------

    def _add_key(self, container: Node | None, key: str, value: object) -> list[TextEdit]:
        if isinstance(container, Scalar) and container.is_null:
            return self._replace_node(container, {key: value})
        if not isinstance(container, Mapping):
            raise Unsafe("expected a mapping", container.line + 1 if container else None)
        style = self.style
        if container.flow:
            return [self._flow_insert(container, key, value, "}")]
        indent = container.pairs[0][0].column
        lines = block_entry(key, value, indent, style)
        return [self._insert_lines(self._last_leaf_end(container), indent, lines)]

    def _append(self, seq: Sequence, item: object) -> list[TextEdit]:
        if seq.flow:
            return [self._flow_insert(seq, None, item, "]")]
        dash = _dash_column(seq, self.text)
        if dash is None:
            raise Unsafe("cannot find the list's dash", seq.line + 1)
        last = deref(seq.items[-1])
        if isinstance(last, (Mapping, Sequence)) and last.flow:
            lines = [" " * dash + "- " + flow_text(item, self.style)]
        else:
            lines = block_item(item, dash, self.style)
        return [self._insert_lines(self._last_leaf_end(seq), dash, lines)]

    def _flow_insert(self, node: Mapping | Sequence, key: str | None, value: object, closer: str) -> TextEdit:
        """Add an entry (`key: value`, or a list item when key is None) before the closing bracket.

        On one line it goes after the last entry (`, entry`); in a collection laid out one entry per line
        (pretty-printed JSON, say) it gets a line of its own at the entries' column, expanded like them."""
        close = node.end - 1
        if self.text[close] != closer:
            raise Unsafe("unexpected flow collection end", node.line + 1)
        firsts = [k for k, _ in node.pairs] if isinstance(node, Mapping) else node.items
        children = [v for _, v in node.pairs] if isinstance(node, Mapping) else node.items
        prefix = "" if key is None else f"{scalar_text(key, self.style)}: "
        if not children:
            return TextEdit(close, close, prefix + flow_text(value, self.style))
        end = children[-1].end
        if self.text.find("\n", end, close) == -1:
            return TextEdit(end, end, ", " + prefix + flow_text(value, self.style))
        column = firsts[0].column
        line_start = self.text.rfind("\n", 0, node.start) + 1
        opener_indent = len(self.text[line_start:node.start]) - len(self.text[line_start:node.start].lstrip(" "))
        step = max(1, column - opener_indent)
        newline = "\r\n" if self.text.find("\r\n", end, close) != -1 else "\n"
        if self.style.json:
            rendered = json.dumps(value, indent=step, ensure_ascii=False).replace("\n", newline + " " * column)
        else:
            rendered = flow_text(value, self.style)
        return TextEdit(end, end, "," + newline + " " * column + prefix + rendered)

    def _replace_node(self, node: Scalar, value: object) -> list[TextEdit]:
        rendered = flow_text(value, self.style)
        if node.start == node.end:
            return [TextEdit(node.start, node.end, " " + rendered)]
        return [TextEdit(node.start, node.end, rendered)]

    def _replace(self, container: Node | None, key: str, value: object) -> list[TextEdit]:
        if not isinstance(container, Mapping):
            raise Unsafe("expected a mapping", container.line + 1 if container else None)
        key_node, old = container.key_node(key), container.get(key)
        if key_node is None or old is None:
            raise Unsafe(f"{key} is missing", container.line + 1)
        rendered = flow_text(value, self.style)
        if isinstance(old, (Mapping, Sequence)) and not old.flow:
            colon = self.text.index(":", key_node.end)
            end = self._last_leaf_end(old)
            if "#" in self.text[colon:end]:
                raise Unsafe(f"{key} holds comments that the change would remove", old.line + 1)
            return [TextEdit(colon + 1, end, " " + rendered)]
        if old.start == old.end:  # an empty value: `key:` with nothing after the colon, or a lone `{key}`
            if ":" not in self.text[key_node.end:max(old.start, key_node.end + 1)]:
                return [TextEdit(key_node.end, key_node.end, ": " + rendered)]
            return [TextEdit(old.start, old.end, " " + rendered)]
        return [TextEdit(old.start, old.end, rendered)]

    def _replace_item(self, seq: Sequence, index: int, value: object) -> list[TextEdit]:
        """Replace one list item in place: flow items by flow text, a block mapping item by block lines."""
        if index >= len(seq.items) or isinstance(seq.items[index], Alias):
            raise Unsafe("the list item to replace is missing or an alias", seq.line + 1)
        old = seq.items[index]
        if seq.flow or not isinstance(old, (Mapping, Sequence)) or old.flow:
            return [TextEdit(old.start, old.end, flow_text(value, self.style))]
        end = self._last_leaf_end(old)
        span = self.text[old.start:end]
        if re.search(r"(^|\s)#", span, re.MULTILINE):
            raise Unsafe("the list item holds comments that the change would remove", old.line + 1)
        dash = _dash_column(seq, self.text)
        if dash is None:
            raise Unsafe("cannot find the list's dash", seq.line + 1)
        lines = block_item(value, dash, self.style)
        lines[0] = lines[0][dash + 2:]
        newline = "\r\n" if "\r\n" in span else self.style.newline
        return [TextEdit(old.start, end, newline.join(lines))]

    def _replace_entry(self, container: Node | None, old: str, key: str, value: object) -> list[TextEdit]:
        if not isinstance(container, Mapping) or container.has_merge:
            raise Unsafe("expected a plain mapping", container.line + 1 if container else None)
        key_node, old_value = container.key_node(old), container.get(old)
        if key_node is None or old_value is None:
            raise Unsafe(f"{old} is missing", container.line + 1)
        if container.flow or (isinstance(old_value, (Mapping, Sequence)) and old_value.flow):
            entry = f"{scalar_text(key, self.style)}: {flow_text(value, self.style)}"  # flow stays flow
            return [TextEdit(key_node.start, old_value.end, entry)]
        end = self._last_leaf_end(old_value)
        span = self.text[key_node.start:end]
        if re.search(r"(^|\s)#", span, re.MULTILINE):  # errs towards refusing: a quoted " #" counts too
            raise Unsafe(f"{old} holds comments that the change would remove", key_node.line + 1)
        lines = block_entry(key, value, key_node.column, self.style)
        lines[0] = lines[0][key_node.column:]
        newline = "\r\n" if "\r\n" in span else self.style.newline
        return [TextEdit(key_node.start, end, newline.join(lines))]

    def _delete(self, container: Node | None, key: str) -> list[TextEdit]:
        if not isinstance(container, Mapping):
            raise Unsafe("expected a mapping", container.line + 1 if container else None)
        index = next((i for i, (k, _) in enumerate(container.pairs)
                      if isinstance(k, Scalar) and k.value == key), None)
        if index is None:
            raise Unsafe(f"{key} is missing", container.line + 1)
        key_node, value = container.pairs[index]
        if container.flow:
            span_start = container.pairs[index - 1][1].end if index > 0 else key_node.start
            if "#" in self.text[span_start:value.end] or "\n" in self.text[span_start:value.end]:
                raise Unsafe(f"removing {key} would take a comment or line break with it", key_node.line + 1)
            if index > 0:
                return [TextEdit(container.pairs[index - 1][1].end, value.end, "")]
            if len(container.pairs) > 1:
                return [TextEdit(key_node.start, container.pairs[1][0].start, "")]
            return [TextEdit(key_node.start, value.end, "")]
        line_start = self.text.rfind("\n", 0, key_node.start) + 1
        if self.text[line_start:key_node.start].strip() or len(container.pairs) == 1:
            raise Unsafe(f"cannot remove {key} without rewriting its line", key_node.line + 1)
        end = self._line_after(self._last_leaf_end(value), indent=None)  # comments below stay
        return [TextEdit(line_start, end, "")]

    # -- positions -----------------------------------------------------------------------------------

    def _last_leaf_end(self, node: Node) -> int:
        """Offset just past the last character that belongs to the node (comments after it excluded)."""
        while True:
            if isinstance(node, Mapping) and not node.flow and node.pairs:
                node = node.pairs[-1][1]
            elif isinstance(node, Sequence) and not node.flow and node.items:
                node = node.items[-1]
            else:
                break
        if isinstance(node, Scalar) and node.style in ("|", ">") and self.text[node.end - 1:node.end] == "\n":
            return node.end - 1
        return node.end

    def _line_after(self, pos: int, indent: int | None) -> int:
        """Start of the line after `pos`; with `indent`, also past the comment lines right below that are
        indented at least that deep (they belong to what ends at `pos`)."""
        newline = self.text.find("\n", pos)
        if newline == -1:
            return len(self.text)
        offset = newline + 1
        while indent is not None and offset < len(self.text):
            end = self.text.find("\n", offset)
            line = self.text[offset:end if end != -1 else len(self.text)]
            stripped = line.lstrip(" ")
            if not (stripped.startswith("#") and len(line) - len(stripped) >= indent) or end == -1:
                break
            offset = end + 1
        return offset

    def _insert_lines(self, pos: int, indent: int, lines: list[str]) -> TextEdit:
        offset = self._line_after(pos, indent)
        newline = self.style.newline
        before = self.text[:offset]
        if before.endswith("\r\n"):
            newline = "\r\n"
        elif before.endswith("\n"):
            newline = "\n"
        if offset == len(self.text) and not self.text.endswith("\n"):
            return TextEdit(offset, offset, newline + newline.join(lines))
        return TextEdit(offset, offset, "".join(line + newline for line in lines))


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
