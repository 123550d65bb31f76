"""The template context of the contract document: every name a template may use.

Problem: templates can be overridden from a user's folder, so what they may use is an
interface, and it must be written down — and stay written down when a field is added.

Approach: frozen pydantic models, one description per field. The templates see one
root name, `doc` (a `ContractDoc`); everything in it is ready to print in the
document's language (money, numbers and dates formatted, sentences in plain words),
so a template only lays things out. `docs/templates.md` is generated from these
descriptions, and a test walks every template and fails when one uses a name that is
not defined here.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartyDoc(_Doc):
    """A party to the contract."""

    name: str = Field(description="Legal name.")
    org_number: str = Field(description="Organisation number, or empty.")
    contact: str = Field(description="Contact person, e-mail or phone, or empty.")


class PayerDoc(_Doc):
    """Who owes what share of the amounts."""

    name: str = Field(description="The payer's name.")
    share: str = Field(description="Default share of every amount, as a percentage.")
    terms: tuple[str, ...] = Field(
        description="What the payer owes in words: its default share and per-rule shares."
    )


class PeriodDoc(_Doc):
    """One settlement period."""

    id: str = Field(description="The period's identifier, e.g. 2025-Q1 or HT2025.")
    start: str = Field(description="First day, formatted.")
    end: str = Field(description="Last day, formatted.")


class ColumnDoc(_Doc):
    """A column of the outcome file."""

    name: str = Field(description="Column name as in the contract and the template file.")
    type: str = Field(description="The type in words (number, month, yes/no, ...).")
    required: bool = Field(description="Whether every row must have a value.")
    description: str = Field(description="What the column holds, or empty.")
    unit: str = Field(description="Unit of the values, or empty.")
    allowed: str = Field(description="Allowed values or range in words, or empty.")
    aliases: str = Field(description="Other accepted header texts, comma-separated, or empty.")
    pseudonymous: bool = Field(description="Holds pseudonyms; personal identity numbers refused.")


class RowCheckDoc(_Doc):
    """A check relating columns within a row."""

    name: str = Field(description="The check's name.")
    check: str = Field(description="The expression every row must satisfy.")
    message: str = Field(description="What the provider is told when a row fails, or empty.")


class OutcomeFileDoc(_Doc):
    """What the provider reports."""

    sheet: str = Field(description="Preferred sheet name, or empty.")
    columns: tuple[ColumnDoc, ...] = Field(description="The columns, in template order.")
    grain: str = Field(description="The columns that identify a row, as a list in words.")
    period_column: str = Field(description="The column that gives a row's period.")
    participant_column: str = Field(description="The column identifying participants, or empty.")
    row_checks: tuple[RowCheckDoc, ...] = Field(description="Checks relating columns in a row.")


class MetricDoc(_Doc):
    """A figure the payment rules use."""

    id: str = Field(description="The metric's identifier.")
    title: str = Field(description="Its plain-words name (the identifier when none is given).")
    definition: str = Field(description="How it is computed, in one sentence.")
    unit: str = Field(description="Unit of the result, or empty.")


class BaselineDoc(_Doc):
    """What a result is compared with."""

    id: str = Field(description="The baseline's identifier.")
    definition: str = Field(description="What the baseline is, in words.")


class OutcomeDoc(_Doc):
    """One priced outcome of a rate card."""

    id: str = Field(description="The outcome's identifier.")
    title: str = Field(description="Its plain-words name (the identifier when none is given).")
    condition: str = Field(description="The condition, as an expression.")
    price: str = Field(description="The price, or the volume tiers in words.")
    pays: str = Field(description="How often it pays, in words.")
    notes: str = Field(description="Prerequisites, sustainment, category, count cap; or empty.")


class BandDoc(_Doc):
    """One band of a tiered rule."""

    level: str = Field(description="The level that must be reached, in words.")
    amount: str = Field(description="The amount paid in the band.")


class RuleDoc(_Doc):
    """A payment rule in plain words."""

    id: str = Field(description="The rule's identifier.")
    kind: str = Field(description="The rule family: fixed_fee, target, rate_card, ...")
    kind_name: str = Field(description="The rule family in words.")
    title: str = Field(description="The rule's title (the family in words when none is given).")
    description: str = Field(description="The rule as the contract text states it, or empty.")
    terms: tuple[str, ...] = Field(
        description="Sentences that state how the rule pays: measure, prices, thresholds."
    )
    outcomes: tuple[OutcomeDoc, ...] = Field(description="A rate card's outcomes (else empty).")
    bands: tuple[BandDoc, ...] = Field(description="A tiered rule's bands (else empty).")
    caps: tuple[str, ...] = Field(description="The rule's own caps, one sentence each.")
    chart: str = Field(
        description="Payment against result as inline SVG (trusted markup, all text in it "
        "escaped), or empty for families without a curve. Print with `|safe` in HTML."
    )
    chart_caption: str = Field(description="What the chart shows, or empty.")


class AmountDoc(_Doc):
    """A labelled amount."""

    label: str = Field(description="What the amount is for: a rule's title, or the total.")
    rule: str = Field(description="The rule id, or `total`.")
    amount: str = Field(description="The amount, formatted exactly.")


class ExampleDoc(_Doc):
    """A worked example (räkneexempel) that the engine reproduces."""

    name: str = Field(description="The example's title.")
    period: str = Field(description="The period settled in the example.")
    description: str = Field(description="What the example shows, or empty.")
    columns: tuple[str, ...] = Field(description="Column names of the example rows.")
    rows: tuple[tuple[str, ...], ...] = Field(description="The rows, values as text per column.")
    supplied: tuple[str, ...] = Field(description="Supplied figures, `metric period: value`.")
    expected: tuple[AmountDoc, ...] = Field(description="The amounts the example must produce.")


class RuleBoundDoc(_Doc):
    """The most one rule can pay over the term."""

    label: str = Field(description="The rule's title (its id when it has none).")
    rule: str = Field(description="The rule's id.")
    derivation: str = Field(
        description="How the bound follows from the rule, or why there is none."
    )
    amount: str = Field(description="The bound, formatted, or empty when the rule is unbounded.")


class LiabilityDoc(_Doc):
    """The maximum liability and how it is derived."""

    bounded: bool = Field(description="Whether the contract has a maximum liability.")
    amount: str = Field(description="The maximum liability, formatted, or empty when unbounded.")
    conclusion: str = Field(description="The maximum (or why there is none) in one sentence.")
    rules: tuple[RuleBoundDoc, ...] = Field(
        description="Per rule, the most it can pay over the term."
    )
    bounds: tuple[str, ...] = Field(
        description="Each contract-wide bound considered, with its arithmetic."
    )


class ContractDoc(_Doc):
    """The root of the template context, named `doc` in templates."""

    lang: str = Field(description="The document's language: en or sv.")
    id: str = Field(description="The contract's identifier.")
    title: str = Field(description="Title of the procurement.")
    reference: str = Field(description="The buyer's case number (diarienummer), or empty.")
    description: str = Field(description="What is bought and why, or empty.")
    version: str = Field(description="SHA-256 of the contract file: the version rendered.")
    buyer: PartyDoc = Field(description="The buyer (beställare).")
    provider: PartyDoc = Field(description="The provider (leverantör).")
    investor: PartyDoc | None = Field(description="The investor, or none.")
    payers: tuple[PayerDoc, ...] = Field(description="Outcome payers and their shares.")
    payers_note: str = Field(description="Who pays when no payers are listed, or empty.")
    currency: str = Field(description="ISO 4217 currency code.")
    contract_value: str = Field(description="The contract value, formatted, or empty.")
    term: str = Field(description="The contract term, first to last day.")
    period_count: int = Field(description="Number of settlement periods in the term.")
    periods: tuple[PeriodDoc, ...] = Field(description="The settlement periods, in order.")
    basis: str = Field(description="The settlement basis in one sentence.")
    rounding: str = Field(description="Rounding quantum, mode and place in one sentence.")
    negative: str = Field(description="Whether a settlement may be negative, in one sentence.")
    units: tuple[str, ...] = Field(description="Units and definitions, one sentence each.")
    outcome_file: OutcomeFileDoc = Field(description="What the provider reports.")
    metrics: tuple[MetricDoc, ...] = Field(description="The metrics, in the contract's order.")
    baselines: tuple[BaselineDoc, ...] = Field(description="The baselines.")
    rules: tuple[RuleDoc, ...] = Field(description="The payment rules, in the order applied.")
    caps: tuple[str, ...] = Field(description="Caps across rules, one sentence each.")
    examples: tuple[ExampleDoc, ...] = Field(description="The worked examples.")
    liability: LiabilityDoc = Field(description="The maximum liability and its derivation.")


ROOT = "doc"  # the one name the templates are given


def _type_name(annotation: Any) -> str:
    args = get_args(annotation)
    if get_origin(annotation) is tuple:
        return f"list of {_type_name(args[0])}"
    if type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return f"{_type_name(inner)} or none"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[`{annotation.__name__}`](#{annotation.__name__.lower()})"
    return {str: "text", int: "number", bool: "true/false"}.get(annotation, str(annotation))


def _models_in(annotation: Any) -> list[type[_Doc]]:
    if isinstance(annotation, type) and issubclass(annotation, _Doc):
        return [annotation]
    return [m for a in get_args(annotation) for m in _models_in(a)]


def reference(root: type[_Doc] = ContractDoc, elsewhere: tuple[type[_Doc], ...] = ()) -> str:
    """The template context as Markdown, one table per model, reached from `doc`.

    `root` is the model named `doc` (the settlement report has its own); models in
    `elsewhere` are described in another table on the page and only linked here.
    `docs/templates.md` carries this text; a test keeps the two equal.
    """
    paths: dict[type[_Doc], list[str]] = {root: [ROOT]}
    order: list[type[_Doc]] = [root]
    for model in order:  # breadth first: order grows while it is walked
        for name, field in model.model_fields.items():
            repeated = get_origin(field.annotation) is tuple
            for sub in _models_in(field.annotation):
                path = f"{paths[model][0]}.{name}" + ("[]" if repeated else "")
                if sub in elsewhere:
                    continue
                if sub not in paths:
                    paths[sub] = []
                    order.append(sub)
                paths[sub].append(path)
    out: list[str] = []
    for model in order:
        doc = " ".join((model.__doc__ or "").split())
        where = ", ".join(f"`{p}`" for p in paths[model])
        out += [f"### {model.__name__}", "", f"{doc} Reached as {where}.", ""]
        out += ["| field | type | description |", "| --- | --- | --- |"]
        for name, field in model.model_fields.items():
            text = (field.description or "").replace("|", "\\|")
            out.append(f"| `{name}` | {_type_name(field.annotation)} | {text} |")
        out.append("")
    return "\n".join(out)
