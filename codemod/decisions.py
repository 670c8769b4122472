"""The decision file: load it, validate it against the shipped JSON Schema, and match selectors to it.

Errors name the file, the line and the field, because a decision file is written by hand and reviewed in
pull requests; a bad one stops the run (exit 2) before any file is touched.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from codemod.documents import yaml11_boolean


class DecisionFileError(Exception):
    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.file, self.line, self.message = file, line, message


class Decision(NamedTuple):
    action: str
    clusters: tuple[str, ...] = ()
    reason: str | None = None
    entry: int | None = None  # index in `decisions`, None for the file's default

    @property
    def label(self) -> str:
        return f"clusters [{', '.join(self.clusters)}]" if self.action == "clusters" else self.action


UNDECIDED = Decision("undecided")


class Subject(NamedTuple):
    """What a decision entry can match on, for one selector."""

    file: Path  # absolute
    kind: str
    namespace: str
    name: str
    path: str
    direction: str
    deny: bool


@dataclass
class Entry:
    match: dict[str, Any]
    decision: Decision
    file_regex: re.Pattern[str] | None = None


@dataclass
class Decisions:
    path: Path
    default: Decision
    entries: list[Entry] = field(default_factory=list)

    def decide(self, subject: Subject) -> Decision:
        for entry in self.entries:
            if self.matches(entry, subject):
                return entry.decision
        return self.default

    def matches(self, entry: Entry, s: Subject) -> bool:
        m = entry.match
        if entry.file_regex is not None:
            try:
                rel = s.file.relative_to(os.path.abspath(self.path.parent)).as_posix()
            except ValueError:
                return False
            if not entry.file_regex.fullmatch(rel):
                return False
        return (
            m.get("kind", s.kind) == s.kind
            and fnmatch.fnmatchcase(s.namespace, m.get("namespace", "*"))
            and fnmatch.fnmatchcase(s.name, m.get("name", "*"))
            and m.get("path", s.path) == s.path
            and m.get("direction", s.direction) == s.direction
            and m.get("deny", s.deny) == s.deny
        )


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob: `*` and `?` stay inside one folder, `**` crosses folders, `[...]` is a class."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end]
            out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
            i = end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "decisions.schema.json"  # shipped in the package
# Bumped when validation checks more than the schema, so a file cached as valid is validated again.
_CHECKS_VERSION = b"2"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def load(path: Path) -> Decisions:
    """Load and validate a decision file. A file validated before (same bytes, same schema) is read from a
    small cache, so a pre-commit hook does not pay for the YAML round-trip loader and jsonschema each time."""
    shown = path.as_posix()
    try:
        raw_bytes = path.read_bytes()
        text = raw_bytes.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DecisionFileError(shown, None, f"cannot read decision file: {exc}") from None
    return loads(path, text)


def loads(path: Path, text: str) -> Decisions:
    """A decision file's text, validated as if read from `path` (whose folder anchors the `file` globs)."""
    shown = path.as_posix()
    raw_bytes = text.encode("utf-8")
    cache = _cache_path(raw_bytes)
    data = _read_cache(cache)
    if data is None:
        data = _parse(shown, text)
        _validate(shown, data)
        _refuse_yaml11_booleans(shown, data, text)
    default = Decision(data.get("default", "undecided"))
    entries = []
    for index, raw in enumerate(data.get("decisions") or []):
        match = dict(raw.get("match") or {})
        decision = Decision(raw["action"], tuple(raw.get("clusters") or ()), raw.get("reason"), index)
        try:
            regex = glob_regex(match["file"]) if "file" in match else None
        except re.error as exc:
            raise DecisionFileError(shown, _line(data, ["decisions", index, "match", "file"]),
                                    f"decisions[{index}].match.file: invalid glob ({exc})") from None
        entries.append(Entry(match, decision, regex))
    _write_cache(cache, data)
    return Decisions(path, default, entries)


def _cache_path(content: bytes) -> Path | None:
    """Where the validated data of this exact content (and schema) lives; None when caching is off."""
    if os.environ.get("CILIUM_CODEMOD_NO_CACHE"):
        return None
    try:
        from _blake2 import blake2b  # CPython's built-in: no OpenSSL to load on the pre-commit path
    except ImportError:  # pragma: no cover (other interpreters)
        from hashlib import blake2b
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = blake2b(_CHECKS_VERSION + SCHEMA_FILE.read_bytes() + b"\0" + content, digest_size=32).hexdigest()
    return Path(base) / "cilium-codemod" / "decisions" / f"{key}.json"


def _read_cache(cache: Path | None) -> Any:
    if cache is None:
        return None
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_cache(cache: Path | None, data: Any) -> None:
    if cache is None or cache.exists():
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a cache is an optimisation only


def _parse(shown: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").split("\n")[0]
        raise DecisionFileError(shown, mark.line + 1 if mark else None, problem) from None
    except YAMLError as exc:
        raise DecisionFileError(shown, None, str(exc).splitlines()[0]) from None
    if data is None:
        raise DecisionFileError(shown, None, "the decision file is empty")
    return data


def _validate(shown: str, data: Any) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (_line(data, e.absolute_path) or 0, e.path))
    if not errors:
        return
    error = errors[0]
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "not":
        path, message = [*path, "clusters"], "only allowed with action: clusters"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        unknown = [key for key in error.instance if key not in known]
        path, message = [*path, unknown[0]], "unknown field" if unknown else message
    message += _hint(error.validator, error.validator_value, error.instance)
    where = _field(path)
    raise DecisionFileError(shown, _line(data, path), f"{where}: {message}" if where else message)


def _hint(validator: Any, expected: Any, instance: Any) -> str:
    """What to write instead, for the type mistakes YAML makes easy."""
    if validator != "type":
        return ""
    expected = [expected] if isinstance(expected, str) else list(expected)
    if "array" in expected and isinstance(instance, str):
        return f" (write a list: [{instance}])"
    if "string" in expected and not isinstance(instance, (str, dict, list)):
        return " (YAML reads this unquoted value as a number, boolean or null: quote it)"
    if "boolean" in expected and isinstance(instance, str) and yaml11_boolean(instance) is not None:
        return f" (write {'true' if yaml11_boolean(instance) else 'false'})"
    return ""


def _refuse_yaml11_booleans(shown: str, data: Any, text: str) -> None:
    """An unquoted `no`, `on` or `y` where a string goes (a cluster named `no`, say) is a string here, but the
    boolean false or true to YAML 1.1 readers of the same file: refuse it and ask for quotes."""
    lines = text.splitlines()
    seen: set[int] = set()

    def walk(node: Any, path: list[Any]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        pairs = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in pairs:
            if isinstance(value, (dict, list)):
                walk(value, [*path, key])
            elif isinstance(value, str) and yaml11_boolean(value) is not None:
                lc: Any = getattr(node, "lc", None)
                try:
                    line, column = lc.value(key) if isinstance(node, dict) else lc.item(key)
                except (AttributeError, KeyError, IndexError, TypeError):
                    continue
                written = lines[line][column:] if line < len(lines) else ""
                if re.match(rf"(?:&\S+\s+)?{re.escape(value)}(?![^\s,\]}}#])", written):  # plain, not quoted
                    boolean = "true" if yaml11_boolean(value) else "false"
                    raise DecisionFileError(shown, line + 1, f"{_field([*path, key])}: an unquoted {value} is the "
                                            f'boolean {boolean} to YAML 1.1 readers; quote it: "{value}"')

    walk(data, [])


def _field(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(data: Any, path: Any) -> int | None:
    """The 1-based line of the deepest node on `path` that the round-trip loader placed."""
    line: int | None = None
    node = data
    for part in path:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                line = (lc.key(part) if isinstance(part, str) else lc.item(part))[0] + 1
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    if line is None and getattr(data, "lc", None) is not None:
        line = data.lc.line + 1
    return line
