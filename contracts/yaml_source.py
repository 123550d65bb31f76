"""Load a contract's YAML into plain data without floats, remembering where every value came from.

The text is parsed with ``yaml.compose`` and PyYAML's ``SafeLoader`` (nothing is ever constructed
by PyYAML itself); this module builds the Python values from the node tree:

* numbers written with a decimal point become exact ``decimal.Decimal`` values, read from the
  original text (``0.35`` -> ``Decimal('0.35')``); ``.inf`` and ``.nan`` are refused;
* a plain date becomes ``datetime.date``; a timestamp with a time of day is refused;
* mapping keys are kept as the text written (``2025:`` -> ``'2025'``, ``yes:`` -> ``'yes'``);
* aliases are expanded (a fresh copy each time, with the anchor's positions) and simple
  ``<<: *anchor`` merges are supported; any other explicit tag (``!!python/...``, ``!!binary``,
  ``!!set``, ``!custom``) is refused.

YAML 1.1 quirks kept from SafeLoader's resolution, which the contract model then reports as a
wrong type: ``yes/no/on/off`` are booleans, ``010`` is octal 8, ``12:30`` is the base-60 int 750,
and ``1e3`` (no dot) is the text ``'1e3'`` (``1.0e+3`` or ``!!float 1e3`` is a number).

Positions are 1-based (line, column) as editors show them; ``end_line``/``end_column`` point just
past the node. A node written with an anchor or tag starts there, except a quoted scalar
(``&a "x"``), whose position is always its opening quote.
"""

from __future__ import annotations

import datetime
import functools
import json
import pathlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]
_TAG = "tag:yaml.org,2002:"
_MAX_NODES = 200_000  # stops "billion laughs" alias bombs
_PLAIN_KEY = re.compile(r"[^\s.\[\]\"']+")
_CONSTRUCTOR = SafeConstructor()
_KEY_KINDS = {"str", "int", "float", "bool", "null", "timestamp", "value"}


@dataclass(frozen=True)
class Position:
    line: int
    column: int
    end_line: int
    end_column: int
    quoted: bool  # written as '...' or "...": the text inside starts one column later


@dataclass(frozen=True)
class YamlProblem:
    code: str  # yaml-syntax, -duplicate-key, -not-mapping, -unsupported or -encoding
    message: str
    line: int
    column: int


@dataclass(frozen=True)
class SourceDoc:
    data: Any
    positions: Mapping[Path, Position] = field(default_factory=dict)
    key_positions: Mapping[Path, Position] = field(default_factory=dict)

    def locate(self, loc: Sequence[str | int]) -> tuple[Path, Position | None]:
        """Follow a pydantic ``loc`` through the data, skipping elements that are not in it
        (discriminator tags, ``function-after[...]``, union member names, a missing field)."""
        path: Path = ()
        node = self.data
        for element in loc:
            if isinstance(node, dict) and str(element) in node:
                path, node = (*path, str(element)), node[str(element)]
            elif isinstance(node, list) and type(element) is int and 0 <= element < len(node):
                path, node = (*path, element), node[element]
        return path, self.positions.get(path)

    def text_path(self, path: Sequence[str | int]) -> str:
        """``('rules', 2, 'price')`` -> ``'rules[2].price'``; odd keys as ``["a b"]``."""
        out = ""
        for element in path:
            if isinstance(element, int):
                out += f"[{element}]"
            elif _PLAIN_KEY.fullmatch(element):
                out += f".{element}" if out else element
            else:
                out += f"[{json.dumps(element, ensure_ascii=False)}]"
        return out


class _Refused(Exception): ...


class _TooLarge(Exception): ...


def _decimal(text: str) -> Decimal:
    raw = text.replace("_", "").strip().lower().replace(".inf", "inf").replace(".nan", "nan")
    parts = [Decimal(part) for part in raw.lstrip("+-").split(":")]  # 1:30.5 is YAML 1.1 base 60
    value = functools.reduce(lambda total, part: total * 60 + part, parts)
    if not value.is_finite():
        raise _Refused("infinite/NaN numbers are not allowed")
    return value.copy_negate() if raw.startswith("-") else value  # exact, no rounding


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.problems: list[YamlProblem] = []
        self.active: set[int] = set()
        self.count = 0

    def problem(self, code: str, message: str, at: Position | Node) -> None:
        if isinstance(at, Node):  # where the node starts, with its tag or anchor
            at = Position(at.start_mark.line + 1, at.start_mark.column + 1, 0, 0, False)
        self.problems.append(YamlProblem(code, message, at.line, at.column))

    def tick(self) -> None:
        self.count += 1
        if self.count > _MAX_NODES:
            raise _TooLarge

    def position(self, node: Node) -> Position:
        start, end = node.start_mark, node.end_mark
        i, line, column = start.index, start.line, start.column
        text, quoted = self.text, isinstance(node, ScalarNode) and node.style in ("'", '"')
        while quoted and i < end.index and text[i] in "&!":
            while i < end.index and text[i] not in " \t\r\n":  # the anchor or tag itself
                i, column = i + 1, column + 1
            while i < end.index and text[i] in " \t\r\n#":  # blanks and comments after it
                if text[i] == "#":
                    while i < end.index and text[i] not in "\r\n":
                        i, column = i + 1, column + 1
                elif text[i] == "\n" or (text[i] == "\r" and text[i + 1 : i + 2] != "\n"):
                    i, line, column = i + 1, line + 1, 0
                else:
                    i, column = i + 1, column + 1
        return Position(line + 1, column + 1, end.line + 1, end.column + 1, quoted)

    def build(self, node: Node, path: Path) -> Any:
        self.tick()
        pos = self.positions[path] = self.position(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node, pos)
        if id(node) in self.active:
            self.problem("yaml-unsupported", "an alias refers to a value containing it", pos)
            return None
        if node.tag not in (_TAG + "map", _TAG + "seq"):
            self.problem(
                "yaml-unsupported", f"the YAML tag {_short_tag(node.tag)} is refused", node
            )
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, pos: Position) -> Any:
        kind = node.tag.removeprefix(_TAG)
        try:
            if kind in ("str", "value", "merge"):  # plain `=` and `<<` values are just text
                return node.value
            if kind == "null":
                return None
            if kind == "bool":
                return _CONSTRUCTOR.construct_yaml_bool(node)
            if kind == "int":
                return _CONSTRUCTOR.construct_yaml_int(node)
            if kind == "float":
                return _decimal(node.value)
            if kind == "timestamp":
                value = _CONSTRUCTOR.construct_yaml_timestamp(node)
                if isinstance(value, datetime.datetime):
                    raise _Refused(f"{node.value!r} has a time of day; contracts use dates only")
                return value
        except _Refused as exc:
            self.problem("yaml-unsupported", str(exc), pos)
            return node.value
        except Exception:
            self.problem("yaml-unsupported", f"{node.value!r} is not a valid {kind}", pos)
            return node.value
        self.problem("yaml-unsupported", f"the YAML tag {_short_tag(node.tag)} is refused", node)
        return node.value

    def pairs(self, node: MappingNode, seen: frozenset[int]) -> list[tuple[str, Node, Node, bool]]:
        """(name, key node, value node, explicit): explicit entries first, then merged ones."""
        explicit: list[tuple[str, Node, Node, bool]] = []
        merged: list[tuple[str, Node, Node, bool]] = []
        seen = seen | {id(node)}
        for key, value in node.value:
            self.tick()
            if key.tag == _TAG + "merge":
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in sources:
                    if isinstance(source, MappingNode) and id(source) not in seen:
                        merged += [(n, k, v, False) for n, k, v, _ in self.pairs(source, seen)]
                    else:
                        message = "'<<' must merge a mapping (like *anchor) or a list of them"
                        self.problem("yaml-unsupported", message, self.position(source))
            elif isinstance(key, ScalarNode):
                if key.tag.removeprefix(_TAG) not in _KEY_KINDS:
                    message = f"the YAML tag {_short_tag(key.tag)} is refused"
                    self.problem("yaml-unsupported", message, key)
                explicit.append((key.value, key, value, True))
            else:
                message = "a mapping key must be a plain name, not a list or a mapping"
                self.problem("yaml-unsupported", message, self.position(key))
        return explicit + merged

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, Position] = {}
        for name, key, value, explicit in self.pairs(node, frozenset()):
            key_pos = self.position(key)
            if name in result:  # merged entries never override; explicit repeats are errors
                if explicit:
                    lines = f"lines {first[name].line} and {key_pos.line}"
                    if first[name].line == key_pos.line:
                        lines = f"twice on line {key_pos.line}"
                    message = f"duplicate key {name!r} ({lines}); the first value is used"
                    self.problem("yaml-duplicate-key", message, key_pos)
                continue
            first[name] = self.key_positions[(*path, name)] = key_pos
            result[name] = self.build(value, (*path, name))
        return result


def _syntax_problem(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if exc.context == "expected a single document in the stream":
        return YamlProblem(
            "yaml-syntax", "expected one document, found a second '---'", line, column
        )
    message = exc.problem or exc.context or "invalid YAML"
    if exc.problem and exc.context:
        where = f", line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{where})"
    return YamlProblem("yaml-syntax", message, line, column)


def _problem_at(code: str, message: str, text: str, index: int) -> YamlProblem:
    line_start = text.rfind("\n", 0, index) + 1
    return YamlProblem(code, message, text.count("\n", 0, index) + 1, index - line_start + 1)


def load_yaml(text: str) -> tuple[SourceDoc | None, list[YamlProblem]]:
    """Parse one YAML document. ``(None, problems)`` when it cannot be read at all; an empty
    document gives a ``SourceDoc`` whose data is ``None`` and no problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc)]
    except yaml.reader.ReaderError as exc:
        message = f"the character #x{exc.character:04x} is not allowed in YAML"
        return None, [_problem_at("yaml-syntax", message, text, exc.position)]
    except yaml.YAMLError as exc:
        return None, [YamlProblem("yaml-syntax", str(exc), 1, 1)]
    except RecursionError:
        return None, [YamlProblem("yaml-syntax", "the document is nested too deeply", 1, 1)]
    if root is None:
        return SourceDoc(None), []
    builder = _Builder(text)
    try:
        data = builder.build(root, ())
    except (RecursionError, _TooLarge):
        message = "the document is nested too deeply or expands too many aliases"
        return None, [YamlProblem("yaml-unsupported", message, 1, 1)]
    problems = sorted(builder.problems, key=lambda p: (p.line, p.column))
    if data is not None and not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the single value {str(data)[:40]!r}"
        message = f"the top level must be a mapping of field names (name: value), not {kind}"
        pos = builder.positions[()]
        problems.insert(0, YamlProblem("yaml-not-mapping", message, pos.line, pos.column))
    return SourceDoc(data, builder.positions, builder.key_positions), problems


def load_yaml_file(path: pathlib.Path) -> tuple[SourceDoc | None, list[YamlProblem]]:
    """Read a UTF-8 file (with or without a BOM) and parse it; OSError propagates."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
        start = raw[: exc.start].decode("utf-8-sig", "replace")
        return None, [_problem_at("yaml-encoding", message, start, len(start))]
    return load_yaml(text)
