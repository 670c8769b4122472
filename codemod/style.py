"""Writing new YAML the way the file around it is written: block or flow, indentation, dash offset, line
endings, JSON quoting, and scalars quoted whenever YAML 1.1 or 1.2 readers would take them for anything
but the string they are."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from codemod.documents import Document, Mapping, Node, Sequence, deref, resolve_plain, yaml11_boolean


@dataclass
class RawText:
    """Text kept exactly as written (a scalar or alias copied from the file)."""

    text: str


@dataclass
class RawMapping:
    """A mapping whose keys are kept as written; values may be RawText or new data."""

    pairs: list[tuple[str, object]]


@dataclass
class Style:
    newline: str = "\n"
    json: bool = False
    seq_offset: int = 2  # columns from a key to the dash of its block list
    map_step: int = 2  # columns from a key to the keys of its block mapping
    item_pad: int = 2  # columns from a dash to its item (`- a` is 2, `-   a` is 4)


def detect_style(doc: Document, text: str, newline: str, json_mode: bool) -> Style:
    """Indentation habits of a document, read from its first nested list and mapping."""
    return near_style(Style(newline=newline, json=json_mode), _block_mappings(doc.root), text)


def near_style(base: Style, mappings: Iterable[Node | None], text: str) -> Style:
    """`base` with the dash offset and mapping step of the first of `mappings` that shows them."""
    seq_offset: int | None = None
    map_step: int | None = None
    item_pad: int | None = None
    for node in mappings:
        mapping = deref(node)
        if not isinstance(mapping, Mapping) or mapping.flow:
            continue
        for key, value in mapping.pairs:
            if isinstance(value, Sequence) and not value.flow and value.items and value.items[0].line > key.line:
                dash = dash_column(value, text)
                if seq_offset is None and dash is not None:
                    seq_offset = max(0, dash - key.column)
                    item_pad = item_padding(value, dash)
            elif isinstance(value, Mapping) and not value.flow and value.pairs \
                    and value.pairs[0][0].line > key.line and map_step is None:
                map_step = max(1, value.pairs[0][0].column - key.column)
        if seq_offset is not None and map_step is not None:
            break
    return replace(base, seq_offset=base.seq_offset if seq_offset is None else seq_offset,
                   map_step=base.map_step if map_step is None else map_step,
                   item_pad=base.item_pad if item_pad is None else item_pad)


def item_padding(seq: Sequence, dash: int) -> int:
    """Columns from the list's dash to its first item's content; 2 unless the file pads (`-   a`)."""
    first = seq.items[0]
    pad = first.column - dash
    return pad if 2 <= pad <= 8 and not first.anchor and not first.tag else 2


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


def dash_column(seq: Sequence, text: str) -> int | None:
    first = seq.items[0]
    line_start = text.rfind("\n", 0, first.start) + 1
    before = text[line_start:first.start].rstrip()
    return len(before) - 1 if before.endswith("-") else None


_PLAIN = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_./]*$")
# go-yaml v2 (sigs.k8s.io/yaml, so kubectl) also reads these as booleans; PyYAML's YAML 1.1 does not.


def scalar_text(value: object, style: Style) -> str:
    """A scalar as YAML reads it back as the same string under YAML 1.1 and 1.2 (`no`, `0755` get quoted)."""
    if style.json or not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if _PLAIN.match(value) and yaml11_boolean(value) is None and _plain_stays_string(value):
        return value
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=4096)
def _plain_stays_string(value: str) -> bool:
    """Both YAML 1.2 (our resolver) and PyYAML's YAML 1.1 read the plain scalar back as a string."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return isinstance(resolve_plain(value), str) and isinstance(yaml.load(value, Loader=loader), str)


def flow_text(value: object, style: Style) -> str:
    if isinstance(value, RawText):
        return value.text
    if isinstance(value, RawMapping):
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
    bullet = " " * dash + "-" + " " * (style.item_pad - 1)
    if isinstance(item, dict) and item:
        lines: list[str] = []
        for k, v in item.items():
            lines += block_entry(k, v, dash + style.item_pad, style)
        lines[0] = bullet + lines[0][dash + style.item_pad:]
        return lines
    return [bullet + flow_text(item, style)]
