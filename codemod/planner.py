"""Planning the splice for one change: where a data-level edit request lands in the original text.

It finds the node the change touches, writes the new lines in the style around them, and never touches
anything else. It refuses, with a reason, any change that would also change an aliased or merged node;
a selector reached through an alias is expanded at the alias instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from codemod.documents import Alias, Document, Mapping, Node, Path, Scalar, Sequence, deref, last_leaf_end, walk
from codemod.edits import Append, Delete, Insert, Nest, Op, Replace, ReplaceEntry, TextEdit, Unsafe, build_missing
from codemod.style import (
    RawMapping,
    RawText,
    Style,
    block_entry,
    block_item,
    dash_column,
    flow_text,
    item_padding,
    near_style,
    scalar_text,
)

if TYPE_CHECKING:
    from collections import Counter


# Alias expansion: the node an alias names, re-written in flow style at the alias, with the change made.


def _raw_copy(node: Node, text: str) -> object:
    if isinstance(node, Alias):
        return RawText("*" + node.name)
    if isinstance(node, Scalar):
        if node.style in ("|", ">") or "\n" in text[node.start:node.end]:
            raise Unsafe("an aliased selector holds a multi-line value; expand the alias by hand", node.line + 1)
        if node.style is None and (any(c in node.value for c in ",[]{}") or ": " in node.value):
            return RawText(json.dumps(node.value, ensure_ascii=False))  # a block plain scalar in flow context
        raw = text[node.start:node.end]
        if node.anchor:
            raw = re.sub(r"^&\S+\s+", "", raw)
        return RawText(raw)
    if isinstance(node, Sequence):
        return [_raw_copy(item, text) for item in node.items]
    if isinstance(node, Mapping):
        if node.has_merge:
            raise Unsafe("an aliased selector uses a YAML merge key (<<); expand it by hand", node.line + 1)
        pairs: list[tuple[str, object]] = []
        for k, v in node.pairs:
            key = _raw_copy(k, text)
            if not isinstance(key, RawText):
                raise Unsafe("an aliased selector has a complex key", k.line + 1)
            pairs.append((key.text, _raw_copy(v, text)))
        return RawMapping(pairs)
    raise TypeError(type(node))  # pragma: no cover


def _raw_get(container: object, part: str | int) -> object:
    if isinstance(container, RawMapping):
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
        if child is None and isinstance(container, RawMapping) and isinstance(part, str):
            container.pairs.append((scalar_text(part, style), build_missing(parents[i + 1:], last, op)))
            return
        container = child
    if isinstance(op, Nest) or (not isinstance(container, RawMapping)
                                and not (isinstance(container, list) and isinstance(last, int))):
        raise Unsafe("cannot change this aliased value in place", None)
    if isinstance(op, Append):
        existing = _raw_get(container, last)
        if isinstance(existing, list):
            existing.append(op.item)
        elif existing is None and isinstance(container, RawMapping):
            container.pairs.append((scalar_text(last, style), [op.item]))
        else:
            raise Unsafe("cannot append to this aliased value", None)
    elif isinstance(op, Insert) and isinstance(container, RawMapping):
        container.pairs.append((scalar_text(last, style), op.value))
    elif isinstance(op, (Delete, Replace, ReplaceEntry)) and isinstance(container, RawMapping):
        index = next((i for i, (k, _) in enumerate(container.pairs) if _unquote(k) == last), None)
        if index is None:
            raise Unsafe(f"{last} is missing in the aliased value", None)
        if isinstance(op, Delete):
            del container.pairs[index]
        elif isinstance(op, Replace):
            container.pairs[index] = (container.pairs[index][0], op.value)
        else:
            container.pairs[index] = (scalar_text(op.key, style), op.value)
    elif isinstance(op, Replace) and isinstance(container, list) and isinstance(last, int):
        container[last] = op.value
    else:
        raise Unsafe("this change cannot be made inside an expanded alias", None)


def _shift(text: str, by: int) -> str:
    """Every non-blank line `by` columns deeper (block scalars keep their relative indentation)."""
    return "".join((" " * by + line) if line.strip() else line for line in text.splitlines(keepends=True))


class Planner:
    """Turns the changes for one document into text edits on the original text."""

    def __init__(self, text: str, doc: Document, style: Style) -> None:
        self.text = text
        self.doc = doc
        self.base_style = self.style = style
        self._uses: Counter[int] | None = None
        self._expansions: dict[int, tuple[Alias, object]] = {}

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
        if "*" not in self.text:
            return 1  # no alias anywhere: every node has one place
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
            alias = nodes[alias_at]
            assert isinstance(alias, Alias)
            return self._expand_alias_node(alias, list(op.path[alias_at:]), op, None)
        for node in nodes if not every_use else ():
            target = deref(node)
            if target is not None and target.shared:
                raise Unsafe(
                    f"the change lands inside &{target.anchor}, which is also used elsewhere (line "
                    f"{target.aliases[0].line + 1}); expand the alias by hand", target.line + 1)
        container = deref(nodes[-1])
        if missing_from < len(parents):
            key = parents[missing_from]
            value = build_missing(parents[missing_from + 1:], last, op)
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
        if isinstance(op, Nest):
            return self._nest(container, str(last), op.keys, op.under)
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

    def _expand_alias_node(self, alias: Alias, sub: list[str | int], op: Op, key: str | None) -> list[TextEdit]:
        for node in self._walk_nodes_to(alias):
            target = deref(node)
            if target is not None and target.shared and node is not alias:
                raise Unsafe(f"the alias *{alias.name} sits inside &{target.anchor}, which is used elsewhere",
                             alias.line + 1)
        assert alias.target is not None
        if id(alias) not in self._expansions:  # several changes under one alias share one expanded copy
            self._expansions[id(alias)] = (alias, _raw_copy(alias.target, self.text))
        copy = self._expansions[id(alias)][1]
        if key is not None:  # the alias is the list itself
            if not isinstance(copy, list):
                raise Unsafe(f"*{alias.name} is not a list", alias.line + 1)
            assert isinstance(op, Append)
            copy.append(op.item)
        else:
            _raw_apply(copy, tuple(sub), op, self.style)
        return []  # written out by finish()

    def finish(self) -> list[TextEdit]:
        """The expanded aliases, each written once with every change made under it."""
        return [TextEdit(alias.start, alias.end, flow_text(copy, self.style))
                for alias, copy in self._expansions.values()]

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
            return self._flow_insert(container, key, value, "}")
        indent = container.pairs[0][0].column
        lines = block_entry(key, value, indent, style)
        return [self._insert_lines(self._last_leaf_end(container), indent, lines)]

    def _append(self, seq: Sequence, item: object) -> list[TextEdit]:
        if seq.flow:
            return self._flow_insert(seq, None, item, "]")
        dash = dash_column(seq, self.text)
        if dash is None:
            raise Unsafe("cannot find the list's dash", seq.line + 1)
        style = replace(self.style, item_pad=item_padding(seq, dash))  # pad like this list's own items
        last = deref(seq.items[-1])
        if isinstance(last, (Mapping, Sequence)) and last.flow:
            lines = [" " * dash + "-" + " " * (style.item_pad - 1) + flow_text(item, style)]
        else:
            lines = block_item(item, dash, style)
        return [self._insert_lines(self._last_leaf_end(seq), dash, lines)]

    def _flow_insert(self, node: Mapping | Sequence, key: str | None, value: object, closer: str) -> list[TextEdit]:
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
            return [TextEdit(close, close, prefix + flow_text(value, self.style))]
        end = children[-1].end
        if self.text.find("\n", end, close) == -1:
            return [TextEdit(end, end, ", " + prefix + flow_text(value, self.style))]
        column = firsts[0].column
        line_start = self.text.rfind("\n", 0, node.start) + 1
        opener_indent = len(self.text[line_start:node.start]) - len(self.text[line_start:node.start].lstrip(" "))
        step = max(1, column - opener_indent)
        newline = self._newline_at(end)
        if self.style.json:
            rendered = json.dumps(value, indent=step, ensure_ascii=False).replace("\n", newline + " " * column)
        else:
            rendered = flow_text(value, self.style)
        # The comma goes right after the last entry; the new entry starts a line of its own after the rest of
        # that line, so a trailing comment stays with the entry it was written for.
        line_end = self.text.find("\n", end)
        if self.text[line_end - 1] == "\r":
            line_end -= 1
        entry = newline + " " * column + prefix + rendered
        if self.text[end:line_end].lstrip(" \t").startswith(","):  # a trailing comma already: keep that style
            return [TextEdit(line_end, line_end, entry + ",")]
        return [TextEdit(end, end, ","), TextEdit(line_end, line_end, entry)]

    def _quoted_like(self, old: Node, value: object, rendered: str) -> str:
        """A string replacing a quoted scalar keeps its quotes (`"cilium.io/v2alpha1"` → `"cilium.io/v2"`);
        an empty string's quotes are no style, only a necessity."""
        quote = self.text[old.start:old.start + 1]
        if not isinstance(old, Scalar) or not old.value or not isinstance(value, str) or \
                quote not in ("'", '"') or self.text[old.end - 1:old.end] != quote:
            return rendered
        if quote == '"':
            import json

            return json.dumps(value, ensure_ascii=False)
        return "'" + value.replace("'", "''") + "'"

    def _replace_node(self, node: Scalar, value: object) -> list[TextEdit]:
        rendered = self._quoted_like(node, value, flow_text(value, self.style))
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
            end = self.text.find("\n", self._last_leaf_end(old))  # to the end of the line: its comment too
            end = len(self.text) if end == -1 else end - (self.text[end - 1] == "\r")
            return [TextEdit(colon + 1, end, " " + rendered + self._comments_in(colon + 1, end))]
        if old.start == old.end:  # an empty value: `key:` with nothing after the colon, or a lone `{key}`
            if ":" not in self.text[key_node.end:max(old.start, key_node.end + 1)]:
                return [TextEdit(key_node.end, key_node.end, ": " + rendered)]
            return [TextEdit(old.start, old.end, " " + rendered)]
        return [TextEdit(old.start, old.end, self._quoted_like(old, value, rendered))]

    def _comments_in(self, start: int, end: int) -> str:
        """The comments inside text about to be replaced, re-emitted so none is lost: one on the first line
        stays a trailing comment, the others keep their own lines and indentation."""
        from codemod.documents import scalar_spans

        in_scalar = scalar_spans([self.doc])
        out = ""
        line_start = start
        while line_start < end:
            line_end = self.text.find("\n", line_start, end)
            line_end = end if line_end == -1 else line_end
            line = self.text[line_start:line_end]
            hash_at = next((i for i, c in enumerate(line) if c == "#" and (i == 0 or line[i - 1] in " \t")
                            and not in_scalar(line_start + i)), None)
            if hash_at is not None:
                comment = line[hash_at:].rstrip("\r")
                indent = len(line) - len(line.lstrip(" "))
                out += "  " + comment if line_start == start else self.style.newline + " " * indent + comment
            line_start = line_end + 1
        return out

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
        dash = dash_column(seq, self.text)
        if dash is None:
            raise Unsafe("cannot find the list's dash", seq.line + 1)
        style = replace(self.style, item_pad=item_padding(seq, dash))
        lines = block_item(value, dash, style)
        lines[0] = lines[0][dash + style.item_pad:]
        return [TextEdit(old.start, end, self._newline_at(old.start).join(lines))]

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
        return [TextEdit(key_node.start, end, self._newline_at(key_node.start).join(lines))]

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
        value_end = self._last_leaf_end(value)
        end = self._line_after(value_end, indent=None)  # comments below stay
        trailing = self.text[value_end:end].strip()
        if trailing.startswith("#"):  # the entry's own comment stays, on a line of its own where it was
            return [TextEdit(line_start, end, " " * key_node.column + trailing + self._newline_at(value_end))]
        return [TextEdit(line_start, end, "")]

    # -- positions -----------------------------------------------------------------------------------

    def _last_leaf_end(self, node: Node) -> int:
        return last_leaf_end(node, self.text)

    # -- nesting entries under a new parent key ----------------------------------------------------------

    def _nest(self, parent: Node | None, name: str, keys: tuple[str, ...], under: str) -> list[TextEdit]:
        mapping = deref(parent.get(name)) if isinstance(parent, Mapping) else None
        if not isinstance(mapping, Mapping) or mapping.flow or not mapping.pairs:
            raise Unsafe(f"{name} is not a block mapping", parent.line + 1 if parent else None)
        if mapping.shared:
            raise Unsafe(f"{name} is the anchor &{mapping.anchor}, also used elsewhere", mapping.line + 1)
        moved = [(k, v) for k, v in mapping.pairs if isinstance(k, Scalar) and k.value in keys]
        if not moved:
            return []
        column = mapping.pairs[0][0].column
        spans = [self._entry_span(k, v, column) for k, v in moved]
        existing = deref(mapping.get(under))
        if existing is None:
            step = self.style.map_step
            text = "".join(_shift(self._line_text(start, end), step) for start, end in spans)
            newline = self._newline_at(spans[0][0])
            block = " " * column + scalar_text(under, self.style) + ":" + newline + text
            return [TextEdit(spans[0][0], spans[0][1], block), *(TextEdit(a, b, "") for a, b in spans[1:])]
        if not isinstance(existing, Mapping) or existing.flow or not existing.pairs:
            raise Unsafe(f"{under} is not a block mapping", existing.line + 1)
        shift = existing.pairs[0][0].column - column
        at = self._line_after(self._last_leaf_end(existing), None)
        text = "".join(_shift(self._line_text(start, end), shift) for start, end in spans)
        if at == len(self.text) and not self.text.endswith("\n"):
            text = self._newline_at(at - 1) + text.rstrip("\r\n")
        return [*(TextEdit(a, b, "") for a, b in spans), TextEdit(at, at, text)]

    def _entry_span(self, key: Node, value: Node, column: int) -> tuple[int, int]:
        """From the start of the entry's first line (own comment lines above it included) to the start of the
        line after its value (its trailing comment included)."""
        start = self.text.rfind("\n", 0, key.start) + 1
        while start > 0:
            previous = self.text.rfind("\n", 0, start - 1) + 1
            line = self.text[previous:start].rstrip("\r\n")
            if not line.strip().startswith("#") or len(line) - len(line.lstrip(" ")) != column:
                break
            start = previous
        return start, self._line_after(self._last_leaf_end(value), None)

    def _line_text(self, start: int, end: int) -> str:
        text = self.text[start:end]
        return text if text.endswith("\n") else text + self.style.newline

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

    def _newline_at(self, pos: int) -> str:
        """The line ending of the line holding `pos` (CRLF stays CRLF even in a mixed file); the file's own
        when that line has none (the last line without a final newline)."""
        end = self.text.find("\n", pos)
        if end == -1:
            return self.style.newline
        return "\r\n" if end > 0 and self.text[end - 1] == "\r" else "\n"

    def _insert_lines(self, pos: int, indent: int, lines: list[str]) -> TextEdit:
        offset = self._line_after(pos, indent)
        newline = self._newline_at(max(offset - 1, 0))
        if offset == len(self.text) and not self.text.endswith("\n"):
            return TextEdit(offset, offset, newline + newline.join(lines))
        return TextEdit(offset, offset, "".join(line + newline for line in lines))
