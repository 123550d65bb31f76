"""Templates use only the documented context, and the documentation is current.

Every packaged template is parsed and walked: each `doc.a.b` chain, through `for`
loops and `set`, must name fields of the context models (`contracts/documents/context.py`),
which carry the descriptions `docs/templates.md` is generated from. A template that
uses an undocumented field fails here, not in front of a user.
"""

from __future__ import annotations

import importlib.resources
import json
import pathlib
import types
from typing import Any, Union, get_args, get_origin

import pytest
from jinja2 import nodes

from contracts.documents.context import ROOT, ContractDoc, _Doc, reference
from contracts.documents.environment import environment
from contracts.documents.report_doc import ReportDoc

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "templates.md"
BEGIN, END = "<!-- generated: template context -->\n", "<!-- end: template context -->"
ANY = object()  # a value whose type the checker does not follow (macro argument, filter result)
LOOP = object()  # Jinja's `loop` inside a for
LOOP_FIELDS = {"index", "index0", "revindex", "revindex0", "first", "last", "length", "cycle"}
LOOP_FIELDS |= {"depth", "depth0", "previtem", "nextitem", "changed"}


def _unwrap(t: Any) -> Any:
    """X | None → X."""
    if get_origin(t) in (Union, types.UnionType):
        rest = [a for a in get_args(t) if a is not type(None)]
        return rest[0] if len(rest) == 1 else ANY
    return t


def _element(t: Any) -> Any:
    t = _unwrap(t)
    return get_args(t)[0] if get_origin(t) is tuple else ANY


class Checker:
    """Walks a parsed template, tracking what each name is, collecting unknown fields."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        self.globals = set(environment().globals)

    def attr(self, t: Any, attr: str, lineno: int) -> Any:
        t = _unwrap(t)
        if t is ANY:
            return ANY
        if t is LOOP:
            if attr not in LOOP_FIELDS:
                self.problems.append(f"{self.name}:{lineno}: loop.{attr} does not exist")
            return ANY
        if isinstance(t, type) and issubclass(t, _Doc):
            field = t.model_fields.get(attr)
            if field is None:
                self.problems.append(
                    f"{self.name}:{lineno}: {t.__name__} has no documented field {attr!r}"
                )
                return ANY
            return field.annotation
        self.problems.append(f"{self.name}:{lineno}: .{attr} on a plain value ({t})")
        return ANY

    def expr(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name not in self.globals:
                self.problems.append(f"{self.name}:{node.lineno}: unknown name {node.name!r}")
            return ANY
        if isinstance(node, nodes.Getattr):
            return self.attr(self.expr(node.node, scope), node.attr, node.lineno)
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node, scope)
            self.expr(node.arg, scope)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self.attr(base, node.arg.value, node.lineno)
            return _element(base)
        for child in node.iter_child_nodes():
            self.visit(child, scope)
        return ANY

    def visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.Expr):
            self.expr(node, scope)
        elif isinstance(node, nodes.For):
            element = _element(self.expr(node.iter, scope))
            inner = {**scope, "loop": LOOP}
            targets = [node.target] if isinstance(node.target, nodes.Name) else []
            for t in targets:
                inner[t.name] = element
            if isinstance(node.target, nodes.Tuple):
                inner.update({t.name: ANY for t in node.target.items})  # type: ignore[attr-defined]
            for child in [*node.body, *([node.test] if node.test else [])]:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
        elif isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            scope[node.target.name] = self.expr(node.node, scope)
        elif isinstance(node, nodes.Macro):
            inner = {**scope, **{a.name: ANY for a in node.args}, "caller": ANY, "varargs": ANY}
            for child in node.body:
                self.visit(child, inner)
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)


def problems_in(source: str, name: str = "<string>", root: type[_Doc] = ContractDoc) -> list[str]:
    checker = Checker(name)
    checker.visit(environment().parse(source), {ROOT: root})
    return checker.problems


def packaged_templates() -> list[str]:
    root = importlib.resources.files("templates")
    return sorted(r.name for r in root.iterdir() if r.name.endswith(".j2"))


def test_the_packaged_templates_are_all_four_and_the_layout() -> None:
    assert packaged_templates() == [
        "_layout.html.j2",
        "contract.en.html.j2",
        "contract.en.md.j2",
        "contract.sv.html.j2",
        "contract.sv.md.j2",
        "report.en.html.j2",
        "report.en.md.j2",
        "report.sv.html.j2",
        "report.sv.md.j2",
    ]


@pytest.mark.parametrize("name", packaged_templates())
def test_a_packaged_template_uses_only_documented_fields(name: str) -> None:
    source = importlib.resources.files("templates").joinpath(name).read_text(encoding="utf-8")
    # The settlement report's templates get a ReportDoc (contracts/documents/report_doc.py).
    root = ReportDoc if name.startswith("report.") else ContractDoc
    assert problems_in(source, name, root) == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ doc.titel }}", "ContractDoc has no documented field 'titel'"),
        ("{% for r in doc.rules %}{{ r.prize }}{% endfor %}", "RuleDoc has no documented field"),
        ("{{ doc.rules[0].outcomes[1].cost }}", "OutcomeDoc has no documented field 'cost'"),
        ("{{ doc.investor.adress }}", "PartyDoc has no documented field 'adress'"),
        ("{% set lia = doc.liability %}{{ lia.max }}", "LiabilityDoc has no documented field"),
        ("{{ doc.title.upper() }}", ".upper on a plain value"),
        ("{{ contract.title }}", "unknown name 'contract'"),
        ("{% for r in doc.rules %}{{ loop.idx }}{% endfor %}", "loop.idx does not exist"),
    ],
)
def test_the_checker_finds_undocumented_fields(source: str, problem: str) -> None:
    found = problems_in(source)
    assert found and problem in found[0], found


def test_the_checker_accepts_documented_use() -> None:
    source = (
        "{% for r in doc.rules %}{{ loop.index }} {{ r.title }}"
        "{% for o in r.outcomes %}{{ o.price }}{% endfor %}{% endfor %}"
        "{{ doc.examples[0].expected[0].amount }}{{ doc['title'] }}{{ doc.units|join(', ') }}"
    )
    assert problems_in(source) == []


def test_docs_templates_md_carries_the_current_context_reference(update_golden: bool) -> None:
    text = DOCS.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    current = BEGIN + reference() + "\n" + END
    if update_golden:
        DOCS.write_text(head + current + tail, encoding="utf-8")
        rest = current[len(BEGIN) :]
    assert BEGIN + rest.split(END, 1)[0] + END == current, (
        "docs/templates.md is stale: run pytest --update-golden tests/test_documents_templates.py"
    )


def test_every_context_field_has_a_description() -> None:
    seen: list[type[_Doc]] = [ContractDoc]
    for model in seen:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
            for arg in [field.annotation, *get_args(field.annotation)]:
                for sub in [arg, *get_args(arg)]:
                    if isinstance(sub, type) and issubclass(sub, _Doc) and sub not in seen:
                        seen.append(sub)
    assert len(seen) > 10


PURE = [
    "contracts.documents.liability",
    "contracts.documents.charts",
    "contracts.documents.contract_doc",
    "contracts.documents.rule_terms",
    "contracts.documents.wording",
    "contracts.documents.formatting",
    "contracts.documents.context",
]


def test_document_content_is_pure(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a document says is computed without templates, files, PDF or the CLI;
    only environment.py (Jinja) and pdf.py (WeasyPrint) are edges."""
    from importlinter.cli import lint_imports

    config = tmp_path / "documents.toml"
    forbidden = ["jinja2", "weasyprint", "yaml", "openpyxl", "sqlmodel", "sqlalchemy"]
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["contracts", "cli"]\n'
        "include_external_packages = true\n"
        '[[tool.importlinter.contracts]]\nname = "Document content is pure"\n'
        f'type = "forbidden"\nsource_modules = {json.dumps(PURE)}\n'
        f"forbidden_modules = {json.dumps([*forbidden, 'cli', 'typer', 'rich'])}\n"
    )
    monkeypatch.chdir(DOCS.parent.parent)
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 0
