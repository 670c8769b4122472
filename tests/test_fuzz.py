"""Fuzzing the loader and the rewrite path with hypothesis over raw bytes.

Two targets:
- the loader: any bytes, decoded as the reader does, either compose into documents or raise ParseError (one
  line, with a line number inside the text when there is one); nothing else escapes;
- the whole file path (read → documents → rules → edits → verification), in-process through
  `engine.check_file` with every rule and an all-clusters decision, on byte-level mutations of the rewrite
  fixtures (inserted, deleted, replaced and duplicated bytes and lines, with YAML's special characters, tabs,
  CR, NUL, invalid UTF-8 and a BOM among the material): the file never ends in an internal error, every error
  is one line, and a rewritten text loads with PyYAML and is left alone by a second pass.

`CODEMOD_FUZZ_EXAMPLES` sets the examples per target (default 3,000, about 15 s here for both); a long hunt:
`CODEMOD_FUZZ_EXAMPLES=100000 CODEMOD_HYPOTHESIS_RANDOM=1 pytest tests/test_fuzz.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from codemod.decisions import loads as load_decisions
from codemod.documents import ParseError, parse_stream
from codemod.engine import check_file
from codemod.rule import load_rules
from tests.conftest import ROOT

EXAMPLES = int(os.environ.get("CODEMOD_FUZZ_EXAMPLES", "3000"))
RANDOM = os.environ.get("CODEMOD_HYPOTHESIS_RANDOM", "") not in ("", "0")
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

SEEDS = [p.read_bytes() for p in sorted((ROOT / "tests" / "fixtures" / "rewrite").glob("*.before.yaml"))]
MATERIAL = [b"\t", b"\r", b"\r\n", b"\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3", b"---\n", b"...\n", b"&a ",
            b"*a", b"<<: ", b"!!str ", b"!x ", b"'", b'"', b"{", b"}", b"[", b"]", b"- ", b": ", b"#", b"|", b">",
            b"%YAML 1.1\n", b"{{ .x }}", b"\\", b"  ", b"io.cilium.k8s.policy.cluster", b"k8s:", b"matchLabels:",
            b"fromEndpoints:", b"kind: CiliumNetworkPolicy\n", b"\xe2\x80\xa8", b"\xc2\x85"]
RULES = load_rules()


def _decode(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.removeprefix("\ufeff")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "line"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(MATERIAL) | st.binary(min_size=1, max_size=3))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 12))]
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:  # duplicate the line holding `at` (or remove it), the commonest hand-editing slip
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end + 1
            data[start:end] = data[start:end] * draw(st.sampled_from([0, 2]))
    return bytes(data)


@SETTINGS
@given(raw=st.binary(max_size=400) | mutated())
def test_the_loader_composes_or_raises_a_parse_error(raw: bytes) -> None:
    text = _decode(raw)
    if text is None:
        return
    try:
        parse_stream(text)
    except ParseError as exc:
        assert "\n" not in exc.message
        assert exc.line is None or 1 <= exc.line <= text.count("\n") + 2
    except RecursionError:
        pass  # deep nesting: the engine turns it into "nested too deeply" for that file


@SETTINGS
@given(raw=mutated())
def test_the_rewrite_path_never_fails_inside(raw: bytes, tmp_path: Path) -> None:
    decisions = load_decisions(tmp_path / "d.yaml", "version: 1\ndefault: all-clusters\n")
    path = tmp_path / "policy.yaml"
    path.write_bytes(raw)
    result = check_file(path, RULES, decisions, fix=True)
    event("rewritten" if result.new_text is not None else "error" if result.errors else
          "skipped" if result.skipped else "unchanged")
    for error in result.errors:
        assert "internal error" not in error.message, error.message
        assert "\n" not in error.message
    if result.new_text is None:
        return
    assert result.source is not None
    list(yaml.compose_all(result.new_text, Loader=yaml.CSafeLoader))  # a rewrite is valid YAML (tags as written)
    path.write_bytes(result.source.encode(result.new_text))
    again = check_file(path, RULES, decisions, fix=True)
    assert again.new_text is None and [e.message for e in again.errors] == []
