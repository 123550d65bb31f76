"""The README cannot drift: commands, problem codes and rule examples are checked."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest
import yaml
from pydantic import TypeAdapter

from cli.main import app
from contracts.rule_model import Rule

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CODE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
ISSUE_MAKERS = {"Issue", "Finding", "YamlProblem", "located", "problem"}


def test_quick_start_is_the_two_commands_and_ci_runs_the_test_command() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick and "make test" in quick
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _command_names() -> list[str]:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return names


def test_every_command_is_in_the_readme() -> None:
    names = _command_names()
    assert "outcomes validate" in names and "settle" in names
    assert [n for n in names if f"contract {n}" not in README] == []


def _codes_in_source() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "contracts").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name not in ISSUE_MAKERS:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords if k.arg == "code")]:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and CODE.match(arg.value)
                ):
                    codes.add(arg.value)
    return codes


def test_every_problem_code_is_documented() -> None:
    codes = _codes_in_source()
    assert len(codes) > 20, codes  # the scan itself works
    assert sorted(c for c in codes if f"`{c}`" not in README) == []


def _rule_examples() -> list[str]:
    section = README.split("### `rules`: payment rules", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.S)


RULE_BLOCKS = [b for b in _rule_examples() if b.lstrip().startswith("- ")]


@pytest.mark.parametrize(
    "block", RULE_BLOCKS, ids=[b.split("kind: ", 1)[1].split()[0].strip(",}") for b in RULE_BLOCKS]
)
def test_each_rule_family_example_in_the_readme_is_valid(block: str) -> None:
    items = yaml.safe_load(block)
    assert isinstance(items, list) and items
    for item in items:
        TypeAdapter(Rule).validate_python(item)


def test_readme_shows_an_example_for_every_rule_family() -> None:
    kinds = set(re.findall(r"kind: (\w+)", "".join(_rule_examples())))
    families = {
        "fixed_fee",
        "target",
        "rate_card",
        "improvement",
        "linear_scale",
        "tiered",
        "bonus",
        "malus",
        "savings_share",
    }
    assert families <= kinds
