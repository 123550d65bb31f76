"""The template context of the settlement report: every name a report template may use.

Problem: the settlement report is what a finance department pays from and what an
auditor reads, and like the contract document its templates can be replaced from a
user's folder. What they may use is an interface that must be written down and stay
written down.

Approach: frozen pydantic models in the style of `context.py` (whose `_Doc` base,
`PartyDoc` and `AmountDoc` are reused), one description per field. The templates see
one root name, `doc` (a `ReportDoc`), with everything ready to print in the report's
language: amounts formatted exactly, figures shortened as the explanation steps show
them, explanation steps as sentences. `docs/templates.md` carries the reference
generated from these models, and a test walks every report template against them.
"""

from __future__ import annotations

from pydantic import Field

from contracts.documents import context
from contracts.documents.context import AmountDoc, PartyDoc, _Doc


class StatusDoc(_Doc):
    """Where the settlement stands: stored or not, draft or approved, by whom and when."""

    stored: bool = Field(description="Whether the settlement is stored in the ledger.")
    state: str = Field(
        description="`draft`, `approved`, `replaced` (a draft followed by a later settlement "
        "before approval) or `not-stored` (computed from files)."
    )
    label: str = Field(description="The state in words, in the report's language.")
    number: str = Field(description="The ledger's settlement number, or empty.")
    sequence: str = Field(description="Which settlement of the period it is (1, 2, ...), or empty.")
    created_at: str = Field(description="When it was stored (UTC), formatted, or empty.")
    created_by: str = Field(description="Who stored it, or empty.")
    approved_at: str = Field(description="When it was approved (UTC), formatted, or empty.")
    approved_by: str = Field(description="Who approved it, or empty.")
    adjusts: str = Field(description="Number of the approved settlement it adjusts, or empty.")
    later: str = Field(
        description="Number of a later settlement of the same period (which replaces or "
        "adjusts this one), or empty."
    )
    sha256: str = Field(description="SHA-256 of the stored settlement document, or empty.")
    contract_version: str = Field(description="The ledger's id of the contract version, or empty.")


class InputDoc(_Doc):
    """A file the settlement was computed from."""

    file: str = Field(description="The file's name as given or as stored (from the provider).")
    kind: str = Field(
        description="What the file holds, in words: outcome rows or supplied figures."
    )
    period: str = Field(description="The period it was submitted for, or empty.")
    submission: str = Field(description="The ledger's submission number, or empty.")
    rows: str = Field(description="Rows (or figures) read from it, formatted.")
    sha256: str = Field(description="SHA-256 of the file's content.")


class EarlierDoc(_Doc):
    """An earlier settlement counted by this one (caps to date, cumulative basis)."""

    period: str = Field(description="The earlier period.")
    number: str = Field(description="Its settlement number in the ledger, or empty.")
    total: str = Field(description="What it was settled for, formatted exactly.")


class MetricValueDoc(_Doc):
    """A metric or baseline figure the settlement computed."""

    id: str = Field(description="The metric's identifier.")
    title: str = Field(description="Its plain-words name (the identifier when none is given).")
    periods: str = Field(description="The periods it was computed over, comma-separated.")
    rows: str = Field(description="Rows used after the metric's filter (empty when supplied).")
    value: str = Field(description="The value as the explanation steps show it (≈ when shortened).")
    exact: str = Field(description="The exact value, every digit.")
    parts: tuple[str, ...] = Field(
        description="What it was computed from, e.g. `numerator 12 914.5`, one each."
    )
    groups: tuple[str, ...] = Field(description="Its value per group, `group: value`, one each.")
    supplied: bool = Field(description="Whether the figure was supplied rather than computed.")


class MeasureDoc(_Doc):
    """Result against baseline for one line: the figures behind an effect-based payment."""

    rule: str = Field(description="The rule's id.")
    rule_title: str = Field(description="The rule's title (its id when it has none).")
    line: int = Field(description="Number of the line item the measure belongs to.")
    metric: str = Field(description="The metric measured.")
    result: str = Field(description="The metric's value this period.")
    baseline_id: str = Field(description="The baseline's identifier, or empty.")
    baseline: str = Field(description="The baseline value, or empty.")
    change: str = Field(description="The change against the baseline (improvement > 0), or empty.")
    comparison_metric: str = Field(description="The comparison group's metric, or empty.")
    comparison_result: str = Field(description="The comparison group's value, or empty.")
    comparison_baseline: str = Field(description="The comparison group's baseline, or empty.")
    comparison_change: str = Field(description="The comparison group's change, or empty.")
    net: str = Field(description="The change net of the comparison group's, or empty.")
    relative: str = Field(description="The change as a share of the baseline, or empty.")
    threshold: str = Field(description="The threshold comparison in words, or empty.")


class LineDoc(_Doc):
    """One line item with its explanation."""

    number: int = Field(description="The line's number in the settlement (1, 2, ...).")
    rule: str = Field(description="The rule's id.")
    kind: str = Field(description="payment, deduction, cap, rounding or previously_settled.")
    kind_label: str = Field(description="The kind in words.")
    description: str = Field(description="The line's label.")
    participant: str = Field(description="The participant (pseudonym), or empty.")
    outcome: str = Field(description="The rate-card outcome, or empty.")
    period: str = Field(description="The period the line arises in, or empty.")
    quantity: str = Field(description="Units paid for, as the steps show them, or empty.")
    unit_price: str = Field(description="Price per unit, formatted exactly, or empty.")
    amount: str = Field(description="The line's amount, formatted exactly.")
    steps: tuple[str, ...] = Field(
        description="How the amount came about, one sentence per step, in order."
    )


class LineGroupDoc(_Doc):
    """A rule's lines summed per outcome (or label) and price, for a rule with many lines."""

    label: str = Field(description="The outcome's title, or the lines' label.")
    count: int = Field(description="Number of lines in the group.")
    unit_price: str = Field(description="The price per unit, formatted, or empty for cuts.")
    amount: str = Field(description="The sum of the group's amounts, formatted exactly.")
    capped: str = Field(
        description="What caps per participant took from the group's lines (count × price "
        "less the amount), formatted, or empty when nothing."
    )


class RuleReportDoc(_Doc):
    """A payment rule's part of the settlement."""

    id: str = Field(description="The rule's id.")
    title: str = Field(description="The rule's title (its id when it has none).")
    amount: str = Field(description="The rule's total in this settlement, formatted exactly.")
    grouped: bool = Field(description="Whether the rule has many lines (shown summed first).")
    groups: tuple[LineGroupDoc, ...] = Field(description="The lines summed per outcome and price.")
    lines: tuple[LineDoc, ...] = Field(description="Every line item of the rule, in order.")


class CapDoc(_Doc):
    """A cap that cut something."""

    scope: str = Field(description="What the cap limits: participant, rule-period, contract, ...")
    scope_label: str = Field(description="The scope in words.")
    name: str = Field(description="What the cap belongs to: a rule, a participant, the contract.")
    limit: str = Field(description="The cap (an amount, or a count for count caps), formatted.")
    before: str = Field(description="Amount or count before the cap, formatted.")
    after: str = Field(description="Amount or count after the cap, formatted.")
    cut: str = Field(description="What the cap took away, formatted.")


class PayerPartDoc(_Doc):
    """What one payer owes of the settlement's total."""

    name: str = Field(description="The payer's name.")
    amount: str = Field(description="The payer's part, formatted exactly.")


class TotalsDoc(_Doc):
    """The settlement's totals."""

    rules: tuple[AmountDoc, ...] = Field(description="Each rule's total, in rule order.")
    cumulative: bool = Field(
        description="Whether earlier settlements were subtracted (cumulative)."
    )
    entitlement: str = Field(description="Earned over the window before subtracting, formatted.")
    previously_settled: str = Field(description="Settled before (cumulative basis), formatted.")
    total: str = Field(description="The settlement's total for the period, formatted exactly.")
    payers: tuple[PayerPartDoc, ...] = Field(description="Each payer's part of the total.")
    earlier: tuple[EarlierDoc, ...] = Field(description="Earlier settlements counted, or none.")
    earlier_total: str = Field(description="What the earlier settlements came to, or empty.")


class AdjustLineDoc(_Doc):
    """One rule's part of an adjustment."""

    rule: str = Field(description="The rule's id.")
    title: str = Field(description="The rule's title (its id when it has none).")
    settled: str = Field(description="What was settled before under the rule, formatted.")
    now: str = Field(description="What is owed now under the rule, formatted.")
    difference: str = Field(description="Owed now less settled before, formatted.")


class AdjustmentDoc(_Doc):
    """A re-settlement against the last approved settlement of the period."""

    against: str = Field(description="Number of the approved settlement adjusted.")
    lines: tuple[AdjustLineDoc, ...] = Field(description="Per rule: settled, owed now, difference.")
    settled: str = Field(description="The approved settlement's total, formatted.")
    now: str = Field(description="This settlement's total, formatted.")
    difference: str = Field(description="Owed now less settled before, formatted.")


class PayableDoc(_Doc):
    """What this settlement moves: a payment to the provider, or a credit from it."""

    amount: str = Field(description="The amount payable now, signed, formatted exactly.")
    absolute: str = Field(description="The amount without its sign, formatted exactly.")
    credit: bool = Field(description="Whether the provider owes this amount back (a credit).")


class ReportDoc(_Doc):
    """The root of the settlement report's context, named `doc` in report templates."""

    lang: str = Field(description="The report's language: en or sv.")
    title: str = Field(description="The report's title: period and contract title.")
    contract_title: str = Field(description="Title of the procurement.")
    contract_id: str = Field(description="The contract's identifier.")
    reference: str = Field(description="The buyer's case number (diarienummer), or empty.")
    version: str = Field(description="SHA-256 of the contract version the settlement used.")
    buyer: PartyDoc = Field(description="The buyer (beställare).")
    provider: PartyDoc = Field(description="The provider (leverantör).")
    investor: PartyDoc | None = Field(description="The investor, or none.")
    currency: str = Field(description="ISO 4217 currency code.")
    period: str = Field(description="The period settled, e.g. 2025-Q2 or HT2025.")
    period_dates: str = Field(description="The period's first to last day, formatted.")
    window: str = Field(description="The periods whose results the settlement covers.")
    basis: str = Field(description="The settlement basis in one sentence.")
    rounding: str = Field(description="Rounding quantum, mode and place in one sentence.")
    status: StatusDoc = Field(description="Ledger status and approvals.")
    inputs: tuple[InputDoc, ...] = Field(description="The files it was computed from.")
    metrics: tuple[MetricValueDoc, ...] = Field(description="Every metric and baseline computed.")
    measures: tuple[MeasureDoc, ...] = Field(
        description="Result, baseline, change and comparison group behind each effect-based line."
    )
    rules: tuple[RuleReportDoc, ...] = Field(description="Each rule's lines, in rule order.")
    line_count: int = Field(description="Number of line items in the settlement.")
    caps: tuple[CapDoc, ...] = Field(description="The caps that cut something.")
    totals: TotalsDoc = Field(description="Rule totals, total and each payer's part.")
    adjustment: AdjustmentDoc | None = Field(
        description="The adjustment to the earlier approved settlement of the period, or none."
    )
    payable: PayableDoc = Field(description="The amount payable now, or the credit due.")


def reference() -> str:
    """The report's template context as Markdown, reached from `doc`.

    `PartyDoc` and `AmountDoc` are the contract document's and are described with it;
    `docs/templates.md` carries this text and a test keeps the two equal.
    """
    return context.reference(ReportDoc, elsewhere=(PartyDoc, AmountDoc))
