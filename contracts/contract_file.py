"""Reading a contract file: YAML → positions → pydantic model, every problem located.

An edge module: it touches the file system and YAML. Problems come back as Issues
carrying `file:line:column` and the field path, never as exceptions.
"""

from __future__ import annotations

import difflib
import hashlib
import pathlib
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.checks import Partial
from contracts.issues import Issue, Location
from contracts.model import Caps, Contract
from contracts.yaml_source import Position, SourceDoc, load_yaml


@dataclass(frozen=True)
class LoadedContract:
    """A contract file as read: the model (if valid), where things are, its hash."""

    path: str  # as the user gave it
    contract: Contract | None  # None when the file has errors in shape
    doc: SourceDoc | None  # data and positions, None when the YAML itself is broken
    sha256: str  # SHA-256 of the file's bytes: the contract version
    issues: tuple[Issue, ...]  # problems found while reading
    partial: tuple[Contract, Partial] | None = None  # the readable parts, when the shape is wrong


def located(
    doc: SourceDoc | None,
    file: str,
    path: tuple[str | int, ...],
    code: str,
    message: str,
    offset: int | None = None,
    severity: str = "error",
) -> Issue:
    """An Issue at a field path; `offset` points into an expression at that path."""
    pos: Position | None = None
    text = ".".join(str(p) for p in path)
    if doc is not None:
        resolved, pos = doc.locate(path)
        # A required field that is absent is named after the mapping it belongs in.
        absent = (path[-1],) if code == "field-missing" and path and resolved != path else ()
        text = doc.text_path(resolved + absent)
    line = col = None
    if pos is not None:
        line, col = pos.line, pos.column
        if offset is not None:
            col += offset + (1 if pos.quoted else 0)
    return Issue(code, message, Location(file=file, line=line, column=col, path=text), severity)  # type: ignore[arg-type]


def _pydantic_issue(doc: SourceDoc, file: str, err: Any) -> Issue:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "missing":
        return located(doc, file, loc, "field-missing", f"{loc[-1]} is required here")
    if kind == "extra_forbidden":
        parent, _ = doc.locate(loc[:-1])
        return _unknown_field(doc, file, loc, parent)
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        expected = err.get("ctx", {}).get("expected_tags", "")
        return located(
            doc,
            file,
            (*loc, "kind"),
            "kind-unknown",
            f"unknown kind {tag!r}; expected one of {expected}",
        )
    if kind == "union_tag_not_found":
        return located(
            doc, file, loc, "field-missing", "kind is required here (it says which family this is)"
        )
    message = err["msg"]
    if kind == "string_pattern_mismatch":
        message = _PATTERNS.get(err.get("ctx", {}).get("pattern", ""), message)
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if "input" in err and not isinstance(err["input"], dict | list):
        message += f" (found {err['input']!r})"
    return located(doc, file, loc, "field-invalid", message)


_PATTERNS = {
    r"^[a-z0-9][a-z0-9-]*$": "use lower-case letters, digits and - only (e.g. norrvik-sjukfranvaro-2025)",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "use letters, digits and _ only, not starting with a digit",
    r"^[A-Z]{3}$": "use a three-letter ISO 4217 code such as SEK or EUR",
}


def _field_names() -> list[str]:
    names: set[str] = set()
    todo: list[type[BaseModel]] = [Contract]
    while todo:
        model = todo.pop()
        for name, info in model.model_fields.items():
            names.add(name)
            for arg in _models_in(info.annotation):
                if arg not in todo:
                    todo.append(arg)
    return sorted(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def _unknown_field(
    doc: SourceDoc, file: str, loc: tuple[Any, ...], parent: tuple[str | int, ...]
) -> Issue:
    name = str(loc[-1])
    issue = located(
        doc, file, loc, "field-unknown", f"unknown field {name!r}{suggest(name, _field_names())}"
    )
    pos = doc.key_positions.get((*parent, name))
    if pos is not None:
        issue = Issue(
            issue.code,
            issue.message,
            Location(file=file, line=pos.line, column=pos.column, path=issue.location.path),
        )
    return issue


def suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_contract(text: str, file: str, raw: bytes | None = None) -> LoadedContract:
    digest = hashlib.sha256(raw if raw is not None else text.encode()).hexdigest()
    doc, problems = load_yaml(text)
    issues = [
        Issue(p.code, p.message, Location(file=file, line=p.line, column=p.column))
        for p in problems
    ]
    if doc is None or (issues and doc.data is None):
        return LoadedContract(file, None, doc, digest, tuple(issues))
    if doc.data is None:
        issues.append(
            Issue("contract-empty", "the contract file is empty", Location(file=file, line=1))
        )
        return LoadedContract(file, None, doc, digest, tuple(issues))
    if not isinstance(doc.data, dict):
        if not any(i.code == "yaml-not-mapping" for i in issues):
            issues.append(
                Issue(
                    "yaml-not-mapping",
                    "a contract file is a mapping of sections (contract:, parties:, ...)",
                    Location(file=file, line=1, column=1),
                )
            )
        return LoadedContract(file, None, doc, digest, tuple(issues))
    try:
        contract = Contract.model_validate(doc.data)
    except ValidationError as exc:
        issues += [_pydantic_issue(doc, file, e) for e in exc.errors()]
        partial = partial_contract(doc.data)
        return LoadedContract(file, None, doc, digest, tuple(_dedupe(issues)), partial)
    return LoadedContract(file, contract, doc, digest, tuple(issues))


_LIST_SECTIONS = {
    "metrics": "id",
    "baselines": "id",
    "rules": "id",
    "payers": "name",
    "worked_examples": "name",
}


def partial_contract(data: dict[str, Any]) -> tuple[Contract, Partial]:
    """The parts of a contract whose shape is right, for checking their meaning anyway.

    Each top-level section is validated on its own, and list sections item by item;
    what fails is left out (its ids kept as `shadow` so references to it are not
    reported as unknown). The result is built without validation as a whole, so only
    checks.py, which knows what is missing, may look at it.
    """
    values: dict[str, Any] = {}
    index: dict[str, tuple[int, ...]] = {}
    missing: set[str] = set()
    shadow: dict[str, frozenset[str]] = {}
    for name, info in Contract.model_fields.items():
        raw = data.get(name)
        if name not in data:
            if info.is_required():
                missing.add(name)
            else:
                values[name] = info.get_default(call_default_factory=True)
        elif name in _LIST_SECTIONS and isinstance(raw, list):
            adapter = TypeAdapter(get_args(info.annotation)[0])
            kept, idx, lost = [], [], set()
            for i, item in enumerate(raw):
                try:
                    kept.append(adapter.validate_python(item))
                    idx.append(i)
                except ValidationError:
                    if isinstance(item, dict) and isinstance(item.get(_LIST_SECTIONS[name]), str):
                        lost.add(item[_LIST_SECTIONS[name]])
            values[name], index[name], shadow[name] = tuple(kept), tuple(idx), frozenset(lost)
        else:
            try:
                annotation: Any = info.annotation
                values[name] = TypeAdapter(annotation).validate_python(raw)
            except ValidationError:
                missing.add(name)
    if "outcome_file" in missing and isinstance(data.get("outcome_file"), dict):
        columns = data["outcome_file"].get("columns")
        if isinstance(columns, list):
            names = {
                c["name"] for c in columns if isinstance(c, dict) and isinstance(c.get("name"), str)
            }
            shadow["columns"] = frozenset(names)
    for name in missing:
        # Placeholders keep checks.py from tripping over a section it was told is missing.
        info = Contract.model_fields[name]
        tuple_section = getattr(info.annotation, "__origin__", None) is tuple
        values.setdefault(name, () if tuple_section else None)
    if "caps" in missing:
        values["caps"] = Caps()
    return Contract.model_construct(**values), Partial(index, frozenset(missing), shadow)


def _dedupe(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for i in issues:
        key = (i.code, i.message, i.location.line, i.location.column)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return sorted(out, key=lambda i: (i.location.line or 0, i.location.column or 0))


def read_contract(path: pathlib.Path, display: str | None = None) -> LoadedContract:
    """Read a contract file. A missing or unreadable file raises OSError for the caller."""
    raw = path.read_bytes()
    name = display or str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        issue = Issue(
            "yaml-encoding",
            "the contract file is not UTF-8 text; save it as UTF-8",
            Location(file=name, line=line),
        )
        return LoadedContract(name, None, None, hashlib.sha256(raw).hexdigest(), (issue,))
    return parse_contract(text, name, raw)
