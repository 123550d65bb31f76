"""Use cases, one orchestrator each, readable top to bottom.

Each is a short sequence of stages whose issues are appended to one list; the CLI
calls exactly one of these per command and decides the exit status from the result.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from contracts import checks, examples
from contracts.annotate import write_annotated
from contracts.contract_file import LoadedContract, located, read_contract
from contracts.data import InMemoryData
from contracts.errors import UsageError
from contracts.issues import Issue, Location, errors
from contracts.model import Contract
from contracts.outcome_sheet import Progress, validate_file
from contracts.periods import find
from contracts.settle import (
    any_period,
    history_dependent,
    needs_rows,
    settle,
    term_period,
    term_periods,
)
from contracts.settlement import PriorSettlement, Settlement
from contracts.supplied_file import Figures, read_supplied
from contracts.template import write_template
from contracts.validate import ValidationReport


@dataclass(frozen=True)
class CheckReport:
    """The outcome of `contract check`."""

    file: str  # the contract file as given
    sha256: str  # the file's SHA-256: the contract version
    contract: Contract | None  # the model, when the file has a valid shape
    issues: tuple[Issue, ...]  # every problem, errors and warnings, in file order
    examples: int = 0  # worked examples run

    @property
    def ok(self) -> bool:
        return self.contract is not None and not errors(self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "valid": self.ok,
            "examples": self.examples,
            "issues": [i.to_dict() for i in self.issues],
        }


@dataclass(frozen=True)
class InputFile:
    """A file a settlement was computed from."""

    name: str  # path as given
    sha256: str  # content hash
    rows: int  # data rows read (0 for supplied figures)


@dataclass(frozen=True)
class SettleReport:
    """The outcome of settling from files."""

    check: CheckReport
    settlement: Settlement | None
    issues: tuple[Issue, ...] = ()
    inputs: tuple[InputFile, ...] = field(default=())


def _open(path: pathlib.Path) -> LoadedContract:
    try:
        return read_contract(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a contract file") from None


def check_contract(path: pathlib.Path) -> CheckReport:
    """Shape, meaning, then the worked examples (only on a contract without errors)."""
    loaded = _open(path)
    issues = list(loaded.issues)
    contract = loaded.contract
    ran = 0

    def locate(f: checks.Finding) -> Issue:
        return located(loaded.doc, loaded.path, f.path, f.code, f.message, f.offset, f.severity)

    if contract is not None:
        issues += [locate(f) for f in checks.check(contract)]
        if not errors(issues):
            issues += [locate(f) for f in examples.check_examples(contract)]
            ran = len(contract.worked_examples)
    elif loaded.partial is not None:
        # The shape is wrong somewhere: still check what the readable parts mean.
        issues += [locate(f) for f in checks.check(*loaded.partial)]
    issues.sort(key=lambda i: (i.location.line or 0, i.location.column or 0))
    return CheckReport(loaded.path, loaded.sha256, contract, tuple(issues), ran)


def settle_files(
    contract_path: pathlib.Path,
    outcome_paths: Sequence[pathlib.Path],
    period: str,
    supplied_paths: Sequence[pathlib.Path] = (),
    prior: Sequence[PriorSettlement] = (),
) -> SettleReport:
    """Check the contract, read and validate every file, settle the period from their rows."""
    report = check_contract(contract_path)
    if not report.ok or report.contract is None:
        return SettleReport(report, None, ())
    contract = report.contract
    term_period(contract, period)
    issues: list[Issue] = []
    rows: list[dict[str, Any]] = []
    inputs: list[InputFile] = []
    for path in outcome_paths:
        file_rows, file_issues, input_file = _read_outcomes(contract, path)
        rows += file_rows
        issues += file_issues
        inputs.append(input_file)
    issues += _duplicates_across_files(contract, rows)
    figures: Figures = {}
    for path in supplied_paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        got, problems, digest = read_supplied(path, contract)
        figures.update(got)
        issues += problems
        inputs.append(InputFile(str(path), digest, 0))
    if errors(issues):
        return SettleReport(report, None, tuple(issues), tuple(inputs))
    data = InMemoryData(contract, rows, figures)
    if not prior and history_dependent(contract):
        prior, issues = _earlier_from_files(contract, period, data)
        if errors(issues):
            return SettleReport(report, None, tuple(issues), tuple(inputs))
    result = settle(contract, period, data, prior)
    settlement = result.settlement
    if settlement is not None:
        settlement = replace(settlement, inputs=tuple((i.name, i.sha256) for i in inputs))
    return SettleReport(report, settlement, tuple(issues) + result.issues, tuple(inputs))


def _earlier_from_files(
    contract: Contract, period: str, data: InMemoryData
) -> tuple[list[PriorSettlement], list[Issue]]:
    """Without a ledger, what earlier periods paid is recomputed from the files given.

    The contract makes this period depend on earlier ones (caps to date, rate-card
    history), so each earlier period is settled in turn from the same files; a period
    with no rows is an error rather than a silent zero.
    """
    periods = term_periods(contract)
    target = find(periods, period)
    assert target is not None
    prior: list[PriorSettlement] = []
    for p in periods[: periods.index(target)]:
        if needs_rows(contract) and data.row_count(p) == 0:
            message = (
                f"settling {target.id} depends on what {p.id} paid (caps over the contract, "
                f"outcomes paid once); give {p.id}'s outcome file too"
            )
            return prior, [Issue("history-missing", message)]
        result = settle(contract, p.id, data, prior)
        if result.settlement is None:
            return prior, list(result.issues)
        prior.append(result.settlement.as_prior())
    return prior, []


@dataclass(frozen=True)
class OutcomesReport:
    """The outcome of `contract outcomes validate`."""

    check: CheckReport  # the contract's own check (its issues stop validation)
    report: ValidationReport | None  # None when the contract itself is invalid


def validate_outcomes(
    contract_path: pathlib.Path,
    file: pathlib.Path,
    period: str | None = None,
    limit_errors: int = 100,
    progress: Progress | None = None,
    annotate: pathlib.Path | None = None,
    lang: str = "sv",
) -> OutcomesReport:
    """Check the contract, validate one outcome file, and optionally write the annotated copy."""
    check = check_contract(contract_path)
    if not check.ok or check.contract is None:
        return OutcomesReport(check, None)
    contract = check.contract
    wanted = None if period is None else any_period(contract, period)
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    if annotate is not None and not annotate.parent.is_dir():
        raise UsageError(f"{annotate.parent}: no such folder for the annotated copy")
    report = validate_file(
        contract, file, period=wanted, limit_errors=limit_errors, progress=progress
    )
    if annotate is not None:
        write_annotated(contract, file, report, annotate, lang=lang)
    return OutcomesReport(check, report)


def outcome_template(
    contract_path: pathlib.Path, period: str, out: pathlib.Path, lang: str = "sv"
) -> CheckReport:
    """Write the provider's reporting template for one period of the contract."""
    check = check_contract(contract_path)
    if not check.ok or check.contract is None:
        return check
    contract = check.contract
    wanted = any_period(contract, period)
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such folder")
    write_template(contract, check.sha256, wanted, out, lang=lang)
    return check


def _read_outcomes(
    contract: Contract, path: pathlib.Path
) -> tuple[list[dict[str, Any]], list[Issue], InputFile]:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    rows: list[dict[str, Any]] = []
    report = validate_file(contract, path, on_row=lambda _n, row: rows.append(row))
    problems = list(report.errors)
    if not report.valid and not problems:
        problems.append(Issue("file-invalid", "the file is not valid", Location(file=str(path))))
    return rows, problems, InputFile(str(path), report.sha256, report.rows)


def _duplicates_across_files(contract: Contract, rows: list[dict[str, Any]]) -> list[Issue]:
    grain = contract.outcome_file.grain
    seen: set[tuple[Any, ...]] = set()
    dups = 0
    first: tuple[Any, ...] | None = None
    for row in rows:
        key = tuple(row.get(g) for g in grain)
        if key in seen:
            dups += 1
            first = first or key
        seen.add(key)
    if not dups:
        return []
    shown = ", ".join(
        f"{g}={'…' if c.pseudonymous else v}"
        for g, v, c in ((g, v, contract.column(g)) for g, v in zip(grain, first or (), strict=True))
        if c
    )
    return [
        Issue(
            "duplicate-key",
            f"{dups} rows appear in more than one file (first: {shown}); "
            "give each period's rows once",
        )
    ]
