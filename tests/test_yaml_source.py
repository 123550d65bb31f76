import datetime
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.yaml_source import Position, SourceDoc, YamlProblem, load_yaml, load_yaml_file

CONTRACT = """\
name: Pilot
rules:
  - id: base
    price: 100
  - id: bonus
    price: "0.35 * improvement"
    when: >
      improvement > 0
start: 2025-01-01
"""


def load_ok(text: str) -> SourceDoc:
    doc, problems = load_yaml(text)
    assert problems == []
    assert doc is not None
    return doc


def only_problem(text: str) -> tuple[SourceDoc | None, YamlProblem]:
    doc, problems = load_yaml(text)
    assert len(problems) == 1, problems
    return doc, problems[0]


def test_numbers_are_exact_decimals_and_ints() -> None:
    doc = load_ok("a: 0.1\nb: 1_000.50\nc: -2.5e-3\nd: !!float 1e3\nn: 0x1F\nm: 1_000\nt: 1e3\n")
    data = doc.data
    assert data["a"] == Decimal("0.1") and type(data["a"]) is Decimal
    assert str(data["a"]) == "0.1"  # the text as written, not 0.1000000000000000055...
    assert data["b"] == Decimal("1000.50") and str(data["b"]) == "1000.50"
    assert data["c"] == Decimal("-0.0025")
    assert data["d"] == Decimal("1E+3") and str(data["d"]) == "1E+3"
    assert data["n"] == 31 and type(data["n"]) is int
    assert data["m"] == 1000
    assert data["t"] == "1e3"  # YAML 1.1: no dot, no float
    assert not any(isinstance(v, float) for v in data.values())


def test_decimals_keep_every_digit_and_base_60() -> None:
    digits = "-3.14159265358979323846264338327950288419716939937510"
    doc = load_ok(f"pi: {digits}\nneg_zero: -0.0\nhours: 1:30.5\n")
    assert str(doc.data["pi"]) == digits  # more digits than the default decimal context
    assert str(doc.data["neg_zero"]) == "-0.0"
    assert doc.data["hours"] == Decimal("90.5")


@pytest.mark.parametrize("text", ["x: .inf\n", "x: -.Inf\n", "x: .nan\n", "x: !!float nan\n"])
def test_infinite_and_nan_are_refused(text: str) -> None:
    _, problem = only_problem(text)
    assert problem.code == "yaml-unsupported"
    assert "infinite/NaN" in problem.message
    assert (problem.line, problem.column) == (1, 4)


def test_dates_bools_nulls() -> None:
    doc = load_ok("start: 2025-01-01\nactive: yes\nnote: ~\nflag: false\n")
    assert doc.data == {
        "start": datetime.date(2025, 1, 1),
        "active": True,  # YAML 1.1 quirk kept on purpose
        "note": None,
        "flag": False,
    }
    assert type(doc.data["start"]) is datetime.date


def test_timestamp_with_time_and_impossible_date_are_refused() -> None:
    _, problems = load_yaml("a: 2025-01-01 10:30:00\nb: 2025-02-30\n")
    assert [(p.code, p.line) for p in problems] == [
        ("yaml-unsupported", 1),
        ("yaml-unsupported", 2),
    ]
    assert "time of day" in problems[0].message
    assert "2025-02-30" in problems[1].message


def test_nested_positions() -> None:
    doc = load_ok(CONTRACT)
    price = doc.positions[("rules", 1, "price")]
    assert price == Position(line=6, column=12, end_line=6, end_column=32, quoted=True)
    assert doc.positions[("rules", 0, "price")] == Position(4, 12, 4, 15, False)
    assert (doc.positions[("rules",)].line, doc.positions[("rules",)].column) == (3, 3)
    item = doc.positions[("rules", 1)]
    assert (item.line, item.column) == (5, 5)
    when = doc.positions[("rules", 1, "when")]
    assert (when.line, when.column, when.quoted) == (7, 11, False)
    assert doc.data["rules"][1]["when"] == "improvement > 0\n"
    assert doc.positions[()].line == 1
    assert set(doc.positions) >= {("name",), ("rules", 0), ("rules", 0, "id"), ("start",)}


def test_key_positions() -> None:
    doc = load_ok(CONTRACT)
    key = doc.key_positions[("rules", 1, "price")]
    assert (key.line, key.column, key.end_column, key.quoted) == (6, 5, 10, False)
    assert (doc.key_positions[("start",)].line, doc.key_positions[("start",)].column) == (9, 1)
    assert () not in doc.key_positions
    assert ("rules", 1) not in doc.key_positions  # list items have no key


def test_locate_follows_pydantic_locs() -> None:
    doc = load_ok(CONTRACT)
    # a discriminator tag inserted by pydantic between the list index and the field
    path, pos = doc.locate(("rules", 1, "improvement", "price"))
    assert path == ("rules", 1, "price")
    assert pos is not None and (pos.line, pos.column) == (6, 12)
    # a validator wrapper name and a missing field: point at the mapping itself
    path, pos = doc.locate(("rules", 0, "function-after[check(), Rule]", "cap"))
    assert path == ("rules", 0)
    assert pos is not None and (pos.line, pos.column) == (3, 5)
    # an index past the end stops at the list
    assert doc.locate(("rules", 7, "price"))[0] == ("rules",)
    assert doc.locate(("missing",)) == ((), doc.positions[()])
    assert doc.locate(()) == ((), doc.positions[()])


def test_text_path() -> None:
    doc = load_ok("a: 1\n")
    assert doc.text_path(("rules", 2, "price")) == "rules[2].price"
    assert doc.text_path((3, "x")) == "[3].x"
    assert doc.text_path(("periods", "2025", "service level")) == 'periods.2025["service level"]'
    assert doc.text_path(()) == ""


def test_keys_are_names() -> None:
    doc = load_ok("2025: a\n2025-01-01: b\nyes: c\n0.5: d\n")
    assert list(doc.data) == ["2025", "2025-01-01", "yes", "0.5"]
    _, problem = only_problem("? [a, b]\n: 1\n")
    assert problem.code == "yaml-unsupported" and "plain name" in problem.message


def test_duplicate_keys_keep_the_first_value() -> None:
    doc, problem = only_problem("name: x\nprice: 1\nother: 2\nprice: 3\n")
    assert problem.code == "yaml-duplicate-key"
    assert "'price'" in problem.message and "lines 2 and 4" in problem.message
    assert (problem.line, problem.column) == (4, 1)
    assert doc is not None and doc.data["price"] == 1
    assert doc.positions[("price",)].line == 2


def test_syntax_error_position() -> None:
    doc, problem = only_problem("name: x\n  bad: y\n")
    assert doc is None
    assert problem.code == "yaml-syntax"
    assert "mapping values are not allowed" in problem.message
    assert (problem.line, problem.column) == (2, 6)
    doc, problem = only_problem('a: 1\nb: "open\nc: 2\n')
    assert doc is None and problem.code == "yaml-syntax"
    assert problem.line == 4 and "line 2" in problem.message  # where the quote was opened


def test_multiple_documents() -> None:
    doc, problem = only_problem("a: 1\n---\nb: 2\n")
    assert doc is None
    assert problem.code == "yaml-syntax" and "one document" in problem.message
    assert (problem.line, problem.column) == (2, 1)


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system ['echo hi']\n",
        "x: !!python/name:os.system ''\n",
        "x: !custom {a: 1}\n",
        "x: !!binary aGVsbG8=\n",
        "x: !!set {a, b}\n",
    ],
)
def test_tags_are_refused(text: str) -> None:
    _, problem = only_problem(text)
    assert problem.code == "yaml-unsupported"
    assert "tag" in problem.message
    assert (problem.line, problem.column) == (1, 4)


def test_aliases_and_merges() -> None:
    text = "base: &b\n  price: 10\n  cap: 20\nrule:\n  <<: *b\n  cap: 30\nother: *b\n"
    doc = load_ok(text)
    assert doc.data["rule"] == {"cap": 30, "price": 10}
    assert doc.data["other"] == {"price": 10, "cap": 20}
    assert doc.data["other"] is not doc.data["base"]  # a fresh copy
    assert doc.positions[("other", "price")] == doc.positions[("base", "price")]
    assert doc.positions[("rule", "price")].line == 2  # merged: points at the anchor
    assert doc.positions[("rule", "cap")].line == 6  # explicit key wins
    assert doc.key_positions[("rule", "cap")].line == 6


def test_merge_list_precedence_and_anchored_quoted_scalar() -> None:
    doc = load_ok('a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc: {<<: [*a, *b]}\nq: &q "text"\n')
    assert doc.data["c"] == {"x": 1, "y": 1, "z": 2}
    pos = doc.positions[("q",)]
    assert (pos.line, pos.column, pos.quoted) == (4, 7, True)  # the quote, not the anchor


def test_recursive_alias_and_alias_bomb_do_not_hang() -> None:
    _, problem = only_problem("a: &a [1, *a]\n")
    assert problem.code == "yaml-unsupported"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    started = time.monotonic()
    doc, problems = load_yaml(bomb)
    assert doc is None and problems[0].code == "yaml-unsupported"
    assert time.monotonic() - started < 10


def test_bom_in_text_and_file(tmp_path: Path) -> None:
    doc = load_ok("\ufeffname: x\n")
    assert doc.data == {"name": "x"}
    assert (doc.key_positions[("name",)].line, doc.key_positions[("name",)].column) == (1, 1)
    file = tmp_path / "c.yaml"
    file.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\r\nprice: 0.5\r\n")
    doc, problems = load_yaml_file(file)
    assert problems == [] and doc is not None
    assert doc.data == {"name": "café", "price": Decimal("0.5")}
    assert doc.positions[("price",)].line == 2


def test_file_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_bytes(b"name: x\nnote: caf\xe9\n")
    doc, problems = load_yaml_file(file)
    assert doc is None
    assert [(p.code, p.line, p.column) for p in problems] == [("yaml-encoding", 2, 10)]
    with pytest.raises(OSError):
        load_yaml_file(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_document(text: str) -> None:
    doc = load_ok(text)
    assert doc.data is None


def test_top_level_not_a_mapping() -> None:
    doc, problem = only_problem("- a\n- b\n")
    assert problem.code == "yaml-not-mapping" and "list" in problem.message
    assert doc is not None and doc.data == ["a", "b"]


def test_forbidden_character() -> None:
    doc, problem = only_problem("a: 1\nb: x\x00y\n")
    assert doc is None and problem.code == "yaml-syntax"
    assert (problem.line, problem.column) == (2, 5)


def test_deep_nesting() -> None:
    doc, problems = load_yaml("[" * 5000 + "]" * 5000)
    assert doc is None and problems


def _walk(data: object, path: tuple[str | int, ...]) -> object:
    for element in path:
        data = data[element]  # type: ignore[index]
    return data


YAMLISH = st.text(alphabet=" \n\t-:?,[]{}&*!|>'\"#%@`<=.~0123456789abexyz_\r\ufeff", max_size=120)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), YAMLISH))
def test_load_yaml_never_raises(text: str) -> None:
    doc, problems = load_yaml(text)
    assert all(isinstance(p, YamlProblem) and p.line >= 1 and p.column >= 1 for p in problems)
    if doc is None:
        assert problems
        return
    for path, pos in doc.positions.items():
        _walk(doc.data, path)  # every recorded path exists in the data
        assert doc.locate(path) == (path, pos)
        assert pos.line >= 1 and pos.column >= 1
