"""YAML streams as light node trees that remember where every node sits in the text.

Edits are made to the original text, never to a re-dumped document, so what the engine needs from the
parser is positions: character offsets, lines and columns of every node, and which nodes are anchors
shared through aliases. A small composer over the libyaml event stream (PyYAML's C parser when present)
gives exactly that, and is many times faster than a round-trip load.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections import Counter
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from functools import lru_cache

PathPart = str | int
Path = tuple[PathPart, ...]


class ParseError(Exception):
    """The text is not YAML we can read; carries the 1-based line of the problem."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Node:
    """A node with its span in the text: [start, end) character offsets, 0-based line and column.
    (Plain classes with slots, not dataclasses: a rewrite makes hundreds of thousands of nodes, and every
    start-up would define them.)"""

    __slots__ = ("aliases", "anchor", "column", "end", "line", "start", "tag")

    def __init__(self, start: int, end: int, line: int, column: int, anchor: str | None = None,
                 tag: str | None = None) -> None:
        self.start, self.end, self.line, self.column = start, end, line, column
        self.anchor, self.tag = anchor, tag
        self.aliases: Seq[Alias] = ()  # the aliases that refer to this node (a list once there is one)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(line={self.line + 1}, column={self.column + 1}, {self.start}:{self.end})"

    @property
    def shared(self) -> bool:
        """True when an alias elsewhere refers to this node, so editing it would edit those too."""
        return bool(self.aliases)


class Scalar(Node):
    __slots__ = ("style", "value")

    def __init__(self, start: int, end: int, line: int, column: int, anchor: str | None = None,
                 tag: str | None = None, value: str = "", style: str | None = None) -> None:
        super().__init__(start, end, line, column, anchor, tag)
        self.value = value
        self.style = style  # None for plain, else one of ' " | >

    @property
    def is_null(self) -> bool:
        return self.style is None and self.value in ("", "~", "null", "Null", "NULL")


class Mapping(Node):
    __slots__ = ("_index", "_merge", "flow", "pairs")

    def __init__(self, start: int, end: int, line: int, column: int, anchor: str | None = None,
                 tag: str | None = None, flow: bool = False) -> None:
        super().__init__(start, end, line, column, anchor, tag)
        self.pairs: list[tuple[Node, Node]] = []
        self.flow = flow
        # Built on first use, once the composer has filled `pairs` (nodes are not changed after that).
        self._index: dict[str, Node] | None = None
        self._merge: bool | None = None

    def get(self, key: str) -> Node | None:
        """The value under a plain string key, with aliases left in place; merge keys (`<<`) honoured."""
        index = self._index
        if index is None:
            index = {}
            for k, v in reversed(self.entries()):  # the first of duplicate keys wins, as before
                if isinstance(k, Scalar):
                    index[k.value] = v
            self._index = index
        return index.get(key)

    def own(self, key: str) -> Node | None:
        """The value this mapping itself sets for the key, ignoring anything merged in."""
        for k, v in self.pairs:
            if isinstance(k, Scalar) and k.value == key and not _is_merge_key(k):
                return v
        return None

    def merged_only(self, key: str) -> bool:
        """True when the key's value comes from a merge key (`<<`), i.e. from a node shared elsewhere."""
        return self.has_merge and self.own(key) is None and self.get(key) is not None

    @property
    def has_merge(self) -> bool:
        if self._merge is None:
            self._merge = any(_is_merge_key(k) for k, _ in self.pairs)
        return self._merge

    def entries(self) -> list[tuple[Node, Node]]:
        """The pairs as Kubernetes tooling reads them: own keys first, then keys merged in through `<<`
        (YAML 1.1 merge keys, which kubectl and Flux apply) that the mapping does not set itself."""
        if not self.has_merge:
            return self.pairs
        own = [(k, v) for k, v in self.pairs if not _is_merge_key(k)]
        seen = {k.value for k, _ in own if isinstance(k, Scalar)}
        for k, v in self.pairs:
            if not _is_merge_key(k):
                continue
            source = deref(v)
            for merged in source.items if isinstance(source, Sequence) else [source]:
                merged = deref(merged)
                if not isinstance(merged, Mapping):
                    continue
                for mk, mv in merged.entries():
                    if isinstance(mk, Scalar) and mk.value not in seen:
                        seen.add(mk.value)
                        own.append((mk, mv))
        return own

    def key_node(self, key: str) -> Scalar | None:
        for k, _ in self.pairs:
            if isinstance(k, Scalar) and k.value == key:
                return k
        return None


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, Scalar) and node.style is None and node.value == "<<" and node.tag in (None, "!")


class Sequence(Node):
    __slots__ = ("flow", "items")

    def __init__(self, start: int, end: int, line: int, column: int, anchor: str | None = None,
                 tag: str | None = None, flow: bool = False) -> None:
        super().__init__(start, end, line, column, anchor, tag)
        self.items: list[Node] = []
        self.flow = flow


class Alias(Node):
    __slots__ = ("name", "target")

    def __init__(self, start: int, end: int, line: int, column: int, name: str = "",
                 target: Node | None = None) -> None:
        super().__init__(start, end, line, column)
        self.name = name
        self.target = target


def deref(node: Node | None) -> Node | None:
    """Follow an alias to the node it names."""
    while isinstance(node, Alias):
        node = node.target
    return node


@dataclass
class Document:
    index: int
    root: Node | None
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)  # (key, 1-based line)
    # (start, end, style) of every quoted or block scalar: the only places where a `#` after white space is
    # text, not a comment (a plain scalar cannot hold one), recorded by the composer for `comments`
    quoted: list[tuple[int, int, str]] = field(default_factory=list)
    embedded_in: int | None = None  # a YAML document inside a string of document `embedded_in` (codemod.helm)

    @property
    def shown_index(self) -> int:
        """The document's index in its file, as findings report it."""
        return self.embedded_in if self.embedded_in is not None else self.index


def _loader() -> type:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.M)


@lru_cache(maxsize=4)  # a rewrite cuts the same old and new texts several times
def sections(text: str) -> list[tuple[int | None, str]] | None:
    """The text cut at its `---` markers: (document index, text) per piece, None for a leading piece that
    holds only comments (no document). None when the stream cannot be cut that simply (`...` markers or
    directives). The list is shared between callers: read it, never change it."""
    if "\n..." in text or text.startswith(("...", "%")) or "\n%" in text or _OTHER_BREAKS.search(text):
        return None  # YAML also breaks lines at a lone CR, NEL, LS and PS: markers could hide after them
    bounds = [m.start() for m in _MARKER.finditer(text)]
    out: list[tuple[int | None, str]] = []
    index = 0
    for start, end in zip([0, *bounds], [*bounds, len(text)], strict=True):
        piece = text[start:end]
        if start == 0 and not any(line.strip().lstrip("\ufeff") and not line.lstrip(" \t\ufeff").startswith("#")
                                  for line in piece.splitlines()):
            out.append((None, piece))
            continue
        out.append((index, piece))
        index += 1
    return out


def keep_only(text: str, keep: Callable[[int, str], bool]) -> str:
    """The text with every document that `keep(index, text)` refuses blanked out: same length, same lines
    and offsets, same documents (a blanked one is empty), so only those documents are composed. A stream
    that cannot be cut at its markers is left whole."""
    pieces = sections(text)
    if pieces is None or len(pieces) < 2:
        return text
    return join_kept(pieces, keep)


def join_kept(pieces: list[tuple[int | None, str]], keep: Callable[[int, str], bool]) -> str:
    """`keep_only` on a text already cut by `sections`."""
    out: list[str] = []
    for index, piece in pieces:
        if index is None or keep(index, piece):
            out.append(piece)
        elif piece.startswith("---"):
            out.append(piece[:3] + _blank(piece[3:]))
        else:  # the first document, without a marker: an empty one (`~`) where no comment's `#` is
            at = next(i for i, c in enumerate(piece) if c not in " \t\r\n#")
            out.append(_blank(piece[:at]) + "~" + _blank(piece[at + 1:]))
    return "".join(out)


def relevant_only(text: str, words: tuple[str, ...] | None) -> str:
    """The text with every document that holds none of `words` blanked out (see `keep_only`)."""
    if words is None:
        return text
    return keep_only(text, lambda _, piece: any(word in piece for word in words))


def _blank(text: str) -> str:
    """White space of the same length and number of lines: what follows keeps its offsets and lines, and
    nothing in it is composed. (The spaces come first, the line breaks last; `sections` has already
    refused texts with other line breaks than LF and CRLF.)"""
    breaks = text.count("\n")
    return " " * (len(text) - breaks) + "\n" * breaks


_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def parse_stream(text: str, words: tuple[str, ...] | None = None) -> list[Document]:
    """Compose the documents of a YAML stream into node trees with positions; with `words`, only those that
    hold one of them (the others come back empty, so indexes and offsets stay those of the file)."""
    return _Composer(_events(relevant_only(text, words))).documents()


def check_syntax(text: str) -> None:
    """Raise ParseError unless the whole stream parses: for the documents that `relevant_only` blanked,
    before a file that holds them is written. libyaml parses it without building a single event object
    (about six times faster than `_events`); undefined aliases are the composer's concern, not checked."""
    loader = _loader()(text)
    try:
        with _parse_errors():
            if hasattr(loader, "raw_parse"):  # the C loader's; the pure-Python one lacks it
                loader.raw_parse()
            else:  # pragma: no cover - PyYAML built without libyaml
                while loader.get_event() is not None:
                    pass
    finally:
        loader.dispose()


def _events(text: str) -> list[object]:
    import yaml

    with _parse_errors():
        return list(yaml.parse(text, Loader=_loader()))


@contextmanager
def _parse_errors() -> Iterator[None]:
    """PyYAML's errors as one ParseError with the line where the problem (or the unclosed thing) is."""
    import yaml

    try:
        yield
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark is not None and problem.startswith("found unexpected end of stream"):
            mark, problem = exc.context_mark, f"{exc.context}: {problem}"  # where the unclosed thing starts
        raise ParseError(problem, mark.line + 1 if mark is not None else None) from None
    except yaml.YAMLError as exc:
        raise ParseError(str(exc).splitlines()[0] if str(exc) else "invalid YAML", None) from None


class _Composer:
    """Nodes with positions from PyYAML's events (libyaml parses; this builds the tree)."""

    def __init__(self, events: Seq[object]) -> None:
        import yaml

        self.events = events
        self.pos = 0
        self.kinds: dict[type, str] = {yaml.ScalarEvent: "scalar", yaml.MappingStartEvent: "mapping",
                                       yaml.SequenceStartEvent: "sequence", yaml.AliasEvent: "alias",
                                       yaml.DocumentStartEvent: "document"}
        self.sequence_end, self.mapping_end = yaml.SequenceEndEvent, yaml.MappingEndEvent

    def documents(self) -> list[Document]:
        docs: list[Document] = []
        events, kinds = self.events, self.kinds
        while self.pos < len(events):
            event = events[self.pos]
            self.pos += 1
            if kinds.get(type(event)) == "document":
                self.anchors: dict[str, Node] = {}
                self.open: set[int] = set()  # collections still being composed
                self.doc = Document(len(docs), None)
                start = self.pos
                self.doc.root = self._node()
                if self.anchors and self.doc.root is not None:
                    _refuse_alias_bombs(self.doc.root, self.pos - start)  # events: about the nodes written
                self.pos += 1  # DocumentEndEvent
                docs.append(self.doc)
        return docs

    def _node(self) -> Node:
        events = self.events
        event: Any = events[self.pos]
        self.pos += 1
        kind = self.kinds.get(type(event))
        sm = event.start_mark
        if kind == "scalar":
            end_index = event.end_mark.index
            node: Node = Scalar(sm.index, end_index, sm.line, sm.column, event.anchor, event.tag,
                                value=event.value, style=event.style or None)
            if event.style:
                self.doc.quoted.append((sm.index, end_index, event.style))
            if event.anchor:
                self.anchors[event.anchor] = node
            return node
        if kind == "alias":
            target = self.anchors.get(event.anchor or "")
            if target is None:
                raise ParseError(f"found undefined alias {event.anchor!r}", sm.line + 1)
            if id(target) in self.open:
                raise ParseError(f"recursive alias *{event.anchor} (refers to a node that contains it)",
                                 sm.line + 1)
            alias = Alias(sm.index, event.end_mark.index, sm.line, sm.column, name=event.anchor or "",
                          target=target)
            if isinstance(target.aliases, list):
                target.aliases.append(alias)
            else:
                target.aliases = [alias]
            return alias
        if kind == "sequence":
            seq = Sequence(sm.index, sm.index, sm.line, sm.column, event.anchor, event.tag,
                           flow=bool(event.flow_style))
            if event.anchor:
                self.anchors[event.anchor] = seq
                self.open.add(id(seq))
            end: type = self.sequence_end
            items = seq.items
            while type(events[self.pos]) is not end:
                items.append(self._node())
            self.open.discard(id(seq))
            seq.end = events[self.pos].end_mark.index  # type: ignore[attr-defined]
            self.pos += 1
            return seq
        if kind == "mapping":
            mapping = Mapping(sm.index, sm.index, sm.line, sm.column, event.anchor, event.tag,
                              flow=bool(event.flow_style))
            if event.anchor:
                self.anchors[event.anchor] = mapping
                self.open.add(id(mapping))
            seen: set[str] = set()
            end = self.mapping_end
            pairs = mapping.pairs
            while type(events[self.pos]) is not end:
                key = self._node()
                value = self._node()
                if isinstance(key, Scalar):
                    if key.value in seen:
                        self.doc.duplicate_keys.append((key.value, key.line + 1))
                    seen.add(key.value)
                pairs.append((key, value))
            mapping._merge = "<<" in seen and any(_is_merge_key(k) for k, _ in pairs)  # saves `has_merge` a pass
            self.open.discard(id(mapping))
            mapping.end = events[self.pos].end_mark.index  # type: ignore[attr-defined]
            self.pos += 1
            return mapping
        # pragma: no cover - the parser emits nothing else inside a document
        raise ParseError(f"unexpected YAML event {type(event).__name__}", sm.line + 1)


ALIAS_EXPANSION_LIMIT = 200_000  # nodes, aliases expanded; and no more than 20 times the nodes written


def _refuse_alias_bombs(root: Node, written: int) -> None:
    """Refuse a document whose aliases expand it past ALIAS_EXPANSION_LIMIT nodes (a "billion laughs"):
    comparing or copying its data would take hours. Kubernetes' own YAML reader refuses excessive aliasing
    too, so such a document could never have been applied."""
    sizes: dict[int, int] = {}  # expanded size of every node seen, by id
    largest: tuple[int, Alias | None] = (0, None)  # the alias that expands most, to point at
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # post-order in document order, without recursion: an anchor is sized before its aliases
        node, children_done = stack.pop()
        if isinstance(node, Alias):
            assert node.target is not None
            sizes[id(node)] = size = sizes[id(node.target)]
            if size > largest[0]:
                largest = (size, node)
            continue
        children = [n for pair in node.pairs for n in pair] if isinstance(node, Mapping) else \
            node.items if isinstance(node, Sequence) else []
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    expanded = sizes[id(root)]
    if expanded > max(ALIAS_EXPANSION_LIMIT, 20 * written):
        alias = largest[1]
        assert alias is not None  # without aliases nothing expands
        raise ParseError(f"aliases such as *{alias.name} expand the document to {expanded:,} nodes (excessive "
                         "aliasing, which Kubernetes refuses too)", alias.line + 1)


def last_leaf_end(node: Node, text: str) -> int:
    """Offset just past the last character that belongs to the node (comments and blank lines after a block
    collection excluded: its own end mark lies at the next token)."""
    while True:
        if isinstance(node, Mapping) and not node.flow and node.pairs:
            node = node.pairs[-1][1]
        elif isinstance(node, Sequence) and not node.flow and node.items:
            node = node.items[-1]
        else:
            break
    if isinstance(node, Scalar) and node.style in ("|", ">") and text[node.end - 1:node.end] == "\n":
        return node.end - 1
    return node.end


def source_of(node: Node, text: str) -> str:
    """The node as written, its first line re-indented to the node's column (for showing it in comments)."""
    return " " * node.column + text[node.start:last_leaf_end(node, text)]


def walk(node: Node | None, path: Path = ()) -> Iterator[tuple[Path, Node]]:
    """Every node below (and including) `node` with its data path; aliases are followed."""
    node = deref(node)
    if node is None:
        return
    yield path, node
    if isinstance(node, Mapping):
        for k, v in node.entries():
            if isinstance(k, Scalar):
                yield from walk(v, (*path, k.value))
    elif isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from walk(item, (*path, i))


def scalar_spans(docs: list[Document]) -> Callable[[int], bool]:
    """A test for "is this offset inside a scalar's text", for telling templates from strings."""
    import bisect

    spans: list[tuple[int, int]] = []
    for doc in docs:
        stack: list[Node | None] = [doc.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Scalar):
                spans.append((node.start, node.end))
            elif isinstance(node, Mapping):
                for k, v in node.pairs:
                    stack += [k, v]
            elif isinstance(node, Sequence):
                stack += node.items
    spans.sort()
    starts = [s for s, _ in spans]

    def inside(pos: int) -> bool:
        i = bisect.bisect_right(starts, pos) - 1
        return i >= 0 and spans[i][0] <= pos < spans[i][1]

    return inside


def comments(text: str, docs: list[Document], within: list[tuple[int, int]] | None = None) -> Counter[str]:
    """Every comment's text: a `#` at a line start or after white space that is not inside a quoted or block
    scalar (`within`: only in these ranges of the text)."""
    import bisect
    from collections import Counter

    found: Counter[str] = Counter()
    ranges = [(0, len(text))] if within is None else within
    spans = sorted(_text_span(text, *scalar) for doc in docs for scalar in doc.quoted)
    starts = [start for start, _ in spans]
    for start, stop in ranges:
        pos = text.find("#", start, stop)
        while pos != -1:
            if pos == 0 or text[pos - 1] in " \t\r\n":
                i = bisect.bisect_right(starts, pos) - 1
                if i < 0 or spans[i][1] <= pos:  # not inside a scalar: a comment, to the end of its line
                    end = text.find("\n", pos)
                    end = len(text) if end == -1 else end
                    found[text[pos:end].rstrip("\r")] += 1
                    pos = text.find("#", end, stop)
                    continue
            pos = text.find("#", pos + 1, stop)
    return found


def _text_span(text: str, start: int, end: int, style: str) -> tuple[int, int]:
    """Where a quoted or block scalar's text lies: its span starts at its properties (`&a`, `!tag`), which a
    comment may follow, and a block scalar's header line (`| # note`) holds no text."""
    opening = text.find(style, start, end)
    if style in "|>" and opening != -1:
        line_end = text.find("\n", opening, end)
        return (end if line_end == -1 else line_end + 1), end
    return (start if opening == -1 else opening), end


def format_path(path: Path) -> str:
    """`spec.ingress[0].fromEndpoints[1]`, the form scan prints and decision files match."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")


def scalar_data(node: Scalar) -> object:
    """The value of a scalar under the YAML 1.2 core schema; only used to compare data, never to edit."""
    if node.style is not None or (node.tag not in (None, "!")):
        return node.value if node.tag in (None, "!", "tag:yaml.org,2002:str") else (node.tag, node.value)
    return resolve_plain(node.value)


_YAML11_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_YAML11_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})


def yaml11_boolean(value: str) -> bool | None:
    """What a plain scalar means as a boolean to YAML 1.1 readers (Helm, go-yaml v2 under kubectl, PyYAML but
    for y/n): `yes`, `On`, `n` …; None when it is not one. YAML 1.2 reads most of these as strings."""
    return True if value in _YAML11_TRUE else False if value in _YAML11_FALSE else None


def resolve_plain(value: str) -> object:
    """What a plain (unquoted) scalar means under the YAML 1.2 core schema."""
    if value in ("", "~", "null", "Null", "NULL"):
        return None
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if _INT.match(value):
        return int(value, 0)
    if _FLOAT.match(value):
        lowered = value.lower().lstrip("+")
        if lowered in (".inf", "-.inf", ".nan"):
            return lowered  # keep NaN comparable: float("nan") != float("nan")
        return float(value)
    return value


def to_data(node: Node | None) -> object:
    """Plain data for a node: aliases expanded into independent copies, so a change at one use shows."""
    while isinstance(node, Alias):
        node = node.target
    if isinstance(node, Scalar):
        return _plain(node.value) if node.style is None and node.tag is None else scalar_data(node)
    if isinstance(node, Mapping):
        out: dict[object, object] = {}
        for k, v in node.entries():
            key = to_data(k)
            out[key if isinstance(key, (str, int, float, bool, tuple)) or key is None else repr(key)] = to_data(v)
        return out
    if isinstance(node, Sequence):
        return [to_data(item) for item in node.items]
    if node is None:
        return None
    raise TypeError(type(node))  # pragma: no cover


_RESOLVED: dict[str, object] = {}  # short plain scalars already resolved: keys and values repeat a lot
_UNSEEN = object()


def _plain(value: str) -> object:
    """`resolve_plain`, remembered (its answers are immutable: None, booleans, numbers, strings)."""
    found = _RESOLVED.get(value, _UNSEEN)
    if found is _UNSEEN:
        found = resolve_plain(value)
        if len(value) <= 64 and len(_RESOLVED) < 50_000:
            _RESOLVED[value] = found
    return found
