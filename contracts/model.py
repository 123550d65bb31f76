"""The contract file as frozen pydantic models.

Every field carries a one-line description: it becomes the JSON Schema an editor uses
while the officer types, and the contract-file reference in the README. Shapes are
checked here; meaning (do the names exist, do the shares add up, do the worked
examples agree with the engine) is checked in `checks.py`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.money import RoundingMode
from contracts.rule_model import Rule

Name = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="an identifier: letters, digits, _"),
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Party(Frozen):
    name: str = Field(description="Legal name as it appears on the signed contract.")
    org_number: str | None = Field(None, description="Organisation number (organisationsnummer).")
    contact: str | None = Field(
        None, description="Contact person, e-mail or phone for this contract."
    )


class Parties(Frozen):
    buyer: Party = Field(
        description="The contracting authority that pays (upphandlande myndighet)."
    )
    provider: Party = Field(description="The supplier that delivers the service and is paid.")
    investor: Party | None = Field(
        None, description="An investor who pre-finances the service, if any."
    )


class Payer(Frozen):
    name: str = Field(
        description="Who pays this share of each line (a party's name or another body)."
    )
    share: Decimal = Field(ge=0, le=1, description="Share of every line this payer owes, 0–1.")
    shares: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Per-rule shares that override `share`, keyed by rule id (e.g. a fund that "
        "tops up only outcome payments).",
    )


class Identity(Frozen):
    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable identifier, lower-case with -."
    )
    title: str = Field(description="Title of the procurement.")
    reference: str | None = Field(None, description="The buyer's case number (diarienummer).")
    language: Literal["sv", "en"] = Field("sv", description="Language the contract is written in.")
    description: str | None = Field(None, description="What is bought and why, in a few sentences.")


class Term(Frozen):
    start: date = Field(description="First day of the contract term.")
    end: date = Field(description="Last day of the contract term.")


class ExplicitPeriod(Frozen):
    id: str = Field(description="The name used for the period in files and commands.")
    start: date = Field(description="First day, inclusive.")
    end: date = Field(description="Last day, inclusive.")


class PeriodsSpec(Frozen):
    kind: Literal["month", "quarter", "school_term", "year", "explicit"] = Field(
        description="month (2025-03), quarter (2025-Q1), school_term (HT2025 = Aug–Dec, "
        "VT2026 = Jan–Jun), year (2025) or explicit (listed below)."
    )
    explicit: tuple[ExplicitPeriod, ...] = Field(
        (), description="The periods, in order, when kind is explicit."
    )


class Rounding(Frozen):
    quantum: Decimal = Field(
        Decimal("0.01"), gt=0, description="Amounts are multiples of this (0.01 = öre, 1 = krona)."
    )
    mode: RoundingMode = Field(
        "half_up", description="half_up, half_even, down, up, floor or ceiling."
    )
    at: Literal["line", "rule", "settlement"] = Field(
        "line",
        description="Where rounding happens, once: each line, each rule's subtotal, or only the "
        "settlement total. Unrounded remainders appear as a rounding line.",
    )


class SettlementSpec(Frozen):
    basis: Literal["per_period", "cumulative"] = Field(
        "per_period",
        description="per_period settles each period on its own; cumulative computes the "
        "entitlement to date and pays the difference from what was settled before.",
    )
    rounding: Rounding = Field(
        default_factory=lambda: Rounding(), description="How and where amounts are rounded."
    )
    allow_negative: bool = Field(
        False, description="May a settlement total be negative (the provider pays back)?"
    )


class Units(Frozen):
    days: Literal["calendar", "working"] | None = Field(
        None, description="Whether days are calendar or working days."
    )
    staff: Literal["headcount", "fte"] | None = Field(
        None, description="Whether staff are counted by head or full-time equivalent."
    )
    notes: tuple[str, ...] = Field(
        (), description="Other units and definitions, one sentence each."
    )


ColumnType = Literal["text", "integer", "decimal", "date", "month", "boolean", "enum"]


class Column(Frozen):
    name: Name = Field(description="The column's name in the contract and in expressions.")
    type: ColumnType = Field(
        description="text, integer, decimal, date, month (2025-03), boolean or enum."
    )
    required: bool = Field(True, description="Must every row have a value?")
    description: str | None = Field(
        None, description="What the column holds, for the template's instructions."
    )
    unit: str | None = Field(None, description="Unit of the values, e.g. hours, %, SEK.")
    aliases: tuple[str, ...] = Field(
        (), description="Other header texts accepted for this column (e.g. Swedish)."
    )
    min: Decimal | str | None = Field(
        None, description="Smallest allowed value, or the name of another column."
    )
    max: Decimal | str | None = Field(
        None, description="Largest allowed value, or the name of another column."
    )
    values: tuple[str, ...] = Field((), description="The allowed values of an enum column.")
    pseudonymous: bool = Field(
        False, description="Holds pseudonyms: a personal identity number here is refused."
    )

    @field_validator("min", "max", mode="before")
    @classmethod
    def _numbers_exact(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return Decimal(v)
        return v


class RowCheck(Frozen):
    name: Name = Field(description="Short name of the check, used in reports.")
    check: str = Field(description="Expression every row must satisfy, e.g. `a + b <= c`.")
    message: str | None = Field(None, description="What to tell the provider when a row fails.")


class OutcomeFile(Frozen):
    columns: tuple[Column, ...] = Field(
        description="The columns of the provider's outcome file, in template order."
    )
    grain: tuple[str, ...] = Field(
        description="Columns that together identify a row (no two rows share them)."
    )
    period_column: str = Field(description="The column that says which period a row belongs to.")
    participant_column: str | None = Field(
        None, description="The column identifying a participant, if any."
    )
    row_checks: tuple[RowCheck, ...] = Field(
        (), description="Checks relating columns within a row."
    )
    sheet: str | None = Field(
        None, description="Preferred sheet name in spreadsheets (found by header otherwise)."
    )


class MetricBase(Frozen):
    id: Name = Field(description="The metric's name, used by baselines and rules.")
    title: str | None = Field(None, description="Plain-words name for documents.")
    filter: str | None = Field(None, description="Only rows for which this expression holds.")
    by: str | None = Field(None, description="Also report the metric split by this column.")
    unit: str | None = Field(None, description="Unit of the result, for documents.")


class CountMetric(MetricBase):
    kind: Literal["count"]
    distinct: str | None = Field(
        None, description="Count distinct values of this column instead of rows."
    )


class SumMetric(MetricBase):
    kind: Literal["sum"]
    of: str = Field(description="Expression summed over the rows, usually a column name.")


class MeanMetric(MetricBase):
    kind: Literal["mean"]
    of: str = Field(description="Expression averaged over the rows that have a value.")


class RatioMetric(MetricBase):
    kind: Literal["ratio"]
    numerator: str = Field(description="Expression summed for the numerator.")
    denominator: str = Field(description="Expression summed for the denominator.")


class ShareMetric(MetricBase):
    kind: Literal["share"]
    condition: str = Field(description="A participant counts when one of its rows meets this.")


class SuppliedMetric(Frozen):
    kind: Literal["supplied"]
    id: Name = Field(description="The metric's name, used by baselines and rules.")
    title: str | None = Field(None, description="Plain-words name for documents.")
    unit: str | None = Field(None, description="Unit of the figure.")
    source: str | None = Field(
        None, description="Who supplies the figure (an evaluator, SCB, ...)."
    )
    combine: Literal["none", "sum", "mean"] = Field(
        "none",
        description="How figures of several periods combine (cumulative basis, multi-period "
        "baselines); none means one figure per settlement is required.",
    )


Metric = Annotated[
    CountMetric | SumMetric | MeanMetric | RatioMetric | ShareMetric | SuppliedMetric,
    Field(discriminator="kind"),
]


class FixedBaseline(Frozen):
    kind: Literal["fixed"]
    id: Name = Field(description="The baseline's name, used by rules.")
    metric: str = Field(description="The metric this is a baseline for.")
    value: Decimal = Field(description="The figure written in the contract.")


class PreviousYearBaseline(Frozen):
    kind: Literal["previous_year"]
    id: Name = Field(description="The baseline's name, used by rules.")
    metric: str = Field(
        description="Computed like this metric over the same period a year earlier."
    )


class PeriodsBaseline(Frozen):
    kind: Literal["periods"]
    id: Name = Field(description="The baseline's name, used by rules.")
    metric: str = Field(description="Computed like this metric over the listed periods.")
    periods: tuple[str, ...] = Field(description="The baseline periods, e.g. [2024-Q1, 2024-Q2].")


Baseline = Annotated[
    FixedBaseline | PreviousYearBaseline | PeriodsBaseline, Field(discriminator="kind")
]


class Caps(Frozen):
    per_period: Decimal | None = Field(
        None, ge=0, description="Most the buyer pays in one settlement period."
    )
    contract: Decimal | None = Field(
        None, ge=0, description="Most the buyer pays over the whole contract."
    )


class PaymentAtRisk(Frozen):
    share: Decimal = Field(
        gt=0, le=1, description="Share of the contract value that depends on results."
    )


class WorkedExample(Frozen):
    name: str = Field(description="Title of the example as the tender documents show it.")
    period: str = Field(description="The period settled in the example.")
    description: str | None = Field(None, description="What the example shows.")
    rows: tuple[dict[str, Any], ...] = Field((), description="Outcome rows, one mapping per row.")
    supplied: dict[str, dict[str, Decimal]] = Field(
        default_factory=dict, description="Supplied figures: metric id → period → value."
    )
    expect: dict[str, Decimal] = Field(
        description="Expected amounts: rule id → amount for this settlement, and `total`."
    )


class Contract(Frozen):
    contract: Identity = Field(description="Identification of the contract.")
    parties: Parties = Field(description="Buyer, provider and optional investor.")
    payers: tuple[Payer, ...] = Field(
        (), description="Who owes each line; defaults to the buyer alone."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. SEK.")
    contract_value: Decimal | None = Field(
        None, ge=0, description="The contract's stated value (kontraktsvärde)."
    )
    term: Term = Field(description="Contract term.")
    periods: PeriodsSpec = Field(description="Settlement periods.")
    settlement: SettlementSpec = Field(
        default_factory=lambda: SettlementSpec(), description="Basis, rounding and sign."
    )
    units: Units = Field(
        default_factory=lambda: Units(), description="Units and definitions that change payments."
    )
    outcome_file: OutcomeFile = Field(description="What the provider reports, row by row.")
    metrics: tuple[Metric, ...] = Field((), description="Figures computed from rows or supplied.")
    baselines: tuple[Baseline, ...] = Field((), description="What results are compared with.")
    rules: tuple[Rule, ...] = Field(description="Payment rules, applied in this order.")
    caps: Caps = Field(default_factory=lambda: Caps(), description="Caps across all rules.")
    payment_at_risk: PaymentAtRisk | None = Field(
        None, description="Share of the value paid only for results."
    )
    worked_examples: tuple[WorkedExample, ...] = Field(
        (), description="Examples the engine must reproduce."
    )

    def metric(self, mid: str) -> Any:
        return next((m for m in self.metrics if m.id == mid), None)

    def baseline(self, bid: str) -> Any:
        return next((b for b in self.baselines if b.id == bid), None)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.outcome_file.columns if c.name == name), None)
