"""`contract check`: every problem at once, each at its line, column and field path."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from contracts.api import check_contract

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "sample_data").glob("*/contract.yaml"))

BROKEN = textwrap.dedent(
    """\
    contract: {id: broken, title: A broken contract}
    parties: {buyer: {name: Kommunen}, provider: {name: Leverantören AB}}
    currency: SEK
    term: {start: 2025-01-01, end: 2025-12-31}
    periods: {kind: quarter}
    outcome_file:
      columns:
        - {name: pid, type: text}
        - {name: month, type: month}
        - {name: hours, type: decimal, max: scheduled}
      grain: [pid, mnth]
      period_column: month
      participant_column: pid
      row_checks:
        - {name: ok, check: "hours <= hour * 2"}
    metrics:
      - {id: total_hours, kind: sum, of: hours}
      - {id: rate, kind: ratio, numerator: hours, denominator: hours, filter: "pid = 'x'"}
    baselines:
      - {id: before, kind: previous_year, metric: total_hour}
    rules:
      - {id: fee, kind: fixed_fee, amount: -5}
      - id: pay
        kind: improvement
        measure: {metric: total_hours, baseline: before}
        price: 10
        prise: 11
      - {id: bands, kind: tierd, measure: {metric: rate}}
    """
)


def issues_of(
    tmp_path: pathlib.Path, text: str
) -> list[tuple[int | None, int | None, str | None, str]]:
    path = tmp_path / "contract.yaml"
    path.write_text(text, encoding="utf-8")
    report = check_contract(path)
    return [(i.location.line, i.location.column, i.location.path, i.code) for i in report.issues]


def test_every_error_is_reported_at_once_with_line_and_column(tmp_path: pathlib.Path) -> None:
    # Shape errors (wrong type, unknown field or kind) and meaning errors (unknown
    # names, bad expressions) of the readable parts, in one run, in file order.
    assert issues_of(tmp_path, BROKEN) == [
        (10, 41, "outcome_file.columns[2].max", "unknown-reference"),
        (11, 16, "outcome_file.grain[1]", "unknown-reference"),
        (15, 35, "outcome_file.row_checks[0].check", "expression-name"),
        (18, 80, "metrics[1].filter", "expression-syntax"),
        (20, 47, "baselines[0].metric", "unknown-reference"),
        (22, 40, "rules[0].amount", "field-invalid"),
        (27, 5, "rules[1].prise", "field-unknown"),
        (28, 23, "rules[2].kind", "kind-unknown"),
    ]


def test_meaning_errors_point_into_expressions(tmp_path: pathlib.Path) -> None:
    fixed = BROKEN.replace("amount: -5", "amount: 5").replace("    prise: 11\n", "")
    fixed = fixed.replace("  - {id: bands, kind: tierd, measure: {metric: rate}}\n", "")
    assert issues_of(tmp_path, fixed) == [
        (10, 41, "outcome_file.columns[2].max", "unknown-reference"),
        (11, 16, "outcome_file.grain[1]", "unknown-reference"),
        # `hour` is the 10th character of the expression, which starts after the quote.
        (15, 35, "outcome_file.row_checks[0].check", "expression-name"),
        # the lone `=`, 5th character of the filter
        (18, 80, "metrics[1].filter", "expression-syntax"),
        (20, 47, "baselines[0].metric", "unknown-reference"),
    ]


def test_typo_suggests_the_name_meant(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(
        BROKEN.replace("amount: -5", "amount: 5")
        .replace("    prise: 11\n", "")
        .replace("  - {id: bands, kind: tierd, measure: {metric: rate}}\n", "")
    )
    messages = {i.location.path: i.message for i in check_contract(path).issues}
    assert "did you mean 'hours'" in messages["outcome_file.row_checks[0].check"]
    assert "did you mean 'total_hours'" in messages["baselines[0].metric"]


def test_yaml_syntax_error_has_its_line(tmp_path: pathlib.Path) -> None:
    assert issues_of(tmp_path, "contract: {id: x\nparties: [\n")[0][3] == "yaml-syntax"


def test_empty_and_non_mapping_files(tmp_path: pathlib.Path) -> None:
    assert [x[3] for x in issues_of(tmp_path, "")] == ["contract-empty"]
    assert [x[3] for x in issues_of(tmp_path, "- a\n- b\n")] == ["yaml-not-mapping"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.parent.name)
def test_samples_are_clean_and_their_examples_agree(sample: pathlib.Path) -> None:
    report = check_contract(sample)
    assert [(i.code, i.message) for i in report.issues] == []
    assert report.ok and report.examples >= 2


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.parent.name)
def test_a_wrong_worked_example_fails_the_check(
    sample: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    text = sample.read_text(encoding="utf-8")
    # Change the first example's expected total by one krona.
    head, sep, tail = text.partition("expect: {")
    start = tail.index("total: ") + len("total: ")
    end = start + len(tail[start:].split("}")[0].split(",")[0])
    wrong = head + sep + tail[:start] + str(int(float(tail[start:end])) + 1) + tail[end:]
    report_path = tmp_path / "contract.yaml"
    report_path.write_text(wrong, encoding="utf-8")
    report = check_contract(report_path)
    assert not report.ok
    assert [(i.code, i.location.path) for i in report.issues] == [
        ("example-mismatch", "worked_examples[0].expect.total")
    ]


def test_shape_and_meaning_errors_are_reported_together() -> None:
    report = check_contract(ROOT / "sample_data" / "broken-contract.yaml")
    assert [(i.location.line, i.location.column, i.code) for i in report.issues] == [
        (2, 16, "field-invalid"),
        (4, 3, "field-missing"),
        (13, 60, "unknown-reference"),
        (17, 40, "expression-name"),
        (19, 52, "unknown-reference"),
        (23, 11, "kind-unknown"),
        (29, 15, "field-invalid"),
    ]


SECTIONS = [
    "contract",
    "parties",
    "payers",
    "currency",
    "term",
    "periods",
    "settlement",
    "units",
    "outcome_file",
    "metrics",
    "baselines",
    "rules",
    "caps",
    "payment_at_risk",
    "worked_examples",
    "contract_value",
]


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("garbage", ["x", "[1, 2]", "{a: 1}", "null"])
def test_any_section_wrong_is_reported_never_a_crash(
    section: str, garbage: str, tmp_path: pathlib.Path
) -> None:
    text = (ROOT / "sample_data" / "sick-leave" / "contract.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{section}:"))
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i] and not lines[i][0].isspace() and not lines[i].startswith("#")
        ),
        len(lines),
    )
    broken = "\n".join([*lines[:start], f"{section}: {garbage}", *lines[end:]]) + "\n"
    path = tmp_path / "contract.yaml"
    path.write_text(broken, encoding="utf-8")
    report = check_contract(path)
    if not report.ok:
        assert all(i.location.line is not None for i in report.issues if i.severity == "error")
