"""Payment rules as written in a contract file (`rules:`), one model per family.

Each rule carries its own caps (`cap_per_period`, `cap`); contract-wide caps live in
`model.Caps`. The engine for each family is in `rules.py`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


RuleId = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="The rule's name.")]


class RuleBase(_Frozen):
    id: RuleId
    title: str | None = Field(None, description="Plain-words name of the rule for documents.")
    description: str | None = Field(None, description="The rule as the contract text states it.")
    cap_per_period: Decimal | None = Field(
        None, ge=0, description="Most this rule pays in one period."
    )
    cap: Decimal | None = Field(
        None, ge=0, description="Most this rule pays over the whole contract."
    )


class Threshold(_Frozen):
    min: Decimal = Field(description="No payment unless the measured effect is at least this.")
    precision: Decimal | None = Field(
        None,
        gt=0,
        description="The effect is rounded (half up) to this before the comparison; without it "
        "the exact value is compared (0.0968 is not 0.10).",
    )
    relative: bool = Field(
        False,
        description="Compare the change as a share of the baseline, whatever the rule pays on.",
    )


class NetOf(_Frozen):
    metric: str = Field(description="The comparison group's metric.")
    baseline: str = Field(description="The comparison group's baseline.")


class Measure(_Frozen):
    """What a rule looks at: a metric, or its change against a baseline."""

    metric: str = Field(description="The metric measured in the settlement period.")
    baseline: str | None = Field(
        None, description="Compare with this baseline; the measure is the change."
    )
    direction: Literal["increase", "decrease"] = Field(
        "increase", description="Which way is better: a fall in sick leave is `decrease`."
    )
    net_of: NetOf | None = Field(
        None, description="Subtract the comparison group's change (difference in differences)."
    )
    relative: bool = Field(
        False, description="Express the change as a share of the baseline (0.10 = 10 %)."
    )

    @model_validator(mode="after")
    def _needs_baseline(self) -> Measure:
        if (self.net_of is not None or self.relative) and self.baseline is None:
            raise ValueError("net_of and relative need a baseline")
        return self


class FixedFee(RuleBase):
    kind: Literal["fixed_fee"]
    amount: Decimal | None = Field(None, ge=0, description="Fee per settlement period.")
    share_of_value: Decimal | None = Field(
        None,
        gt=0,
        le=1,
        description="Or: this share of contract_value, spread evenly over all periods.",
    )
    deferred: bool = Field(
        False, description="Accrues every period but is paid in the last period of the term."
    )

    @model_validator(mode="after")
    def _one_amount(self) -> FixedFee:
        if (self.amount is None) == (self.share_of_value is None):
            raise ValueError("give exactly one of amount and share_of_value")
        return self


class Target(RuleBase):
    kind: Literal["target"]
    condition: str = Field(
        description="Expression over metric ids, e.g. `care_plan_share >= 0.80`."
    )
    amount: Decimal = Field(
        ge=0, description="Paid in full when the condition holds, else nothing."
    )
    precision: Decimal | None = Field(
        None, gt=0, description="Metrics are rounded (half up) to this before comparing."
    )


class Tier(_Frozen):
    up_to: int | None = Field(
        None,
        ge=1,
        description="Last outcome (counted over the contract) at this price; none for the rest.",
    )
    price: Decimal = Field(ge=0, description="Price per outcome in this tier.")


class RateOutcome(_Frozen):
    id: RuleId
    title: str | None = Field(None, description="Plain-words name of the outcome.")
    condition: str = Field(
        description="Row expression; may use baseline.<column> (the participant's first period)."
    )
    price: Decimal | None = Field(None, ge=0, description="Price per outcome.")
    tiers: tuple[Tier, ...] = Field((), description="Marginal volume tiers instead of one price.")
    pays: Literal["once", "once_per_period", "every_time"] = Field(
        "once",
        description="once per participant, at most once per participant and period, or every qualifying row.",
    )
    requires: tuple[str, ...] = Field(
        (), description="Outcomes that must have been paid in an earlier period first."
    )
    sustain_periods: int = Field(
        1, ge=1, description="The condition must hold in this many consecutive periods."
    )
    category: str | None = Field(None, description="Category used by quotas.")
    max_count: int | None = Field(
        None, ge=0, description="Most outcomes of this kind paid over the contract."
    )

    @model_validator(mode="after")
    def _one_price(self) -> RateOutcome:
        if (self.price is None) == (not self.tiers):
            raise ValueError("give exactly one of price and tiers")
        if self.tiers and any(t.up_to is None for t in self.tiers[:-1]):
            raise ValueError("only the last tier may be open-ended (no up_to)")
        return self


class Uplift(_Frozen):
    when: str = Field(
        description='Row expression on the participant\'s first period, e.g. `group == "newly_arrived"`.'
    )
    percent: Decimal = Field(gt=0, description="Added to the price, in percent (40 = +40 %).")


class Quota(_Frozen):
    category: str = Field(description="The category whose share is limited.")
    max_share: Decimal = Field(
        gt=0, lt=1, description="Most this share of the outcomes paid may come from the category."
    )


class RateCard(RuleBase):
    kind: Literal["rate_card"]
    eligibility: str | None = Field(
        None, description="Row expression on the participant's first period (e.g. age at start)."
    )
    outcomes: tuple[RateOutcome, ...] = Field(
        min_length=1, description="The priced outcomes, any number."
    )
    uplifts: tuple[Uplift, ...] = Field((), description="Price uplifts for sub-groups.")
    quotas: tuple[Quota, ...] = Field(
        (), description="Limits on the share of outcomes from one category."
    )
    max_count: int | None = Field(
        None, ge=0, description="Most outcomes paid under this rule over the contract."
    )
    cap_per_participant: Decimal | None = Field(
        None, ge=0, description="Most paid for one participant over the contract."
    )


class Improvement(RuleBase):
    kind: Literal["improvement"]
    measure: Measure = Field(description="The change paid for; needs a baseline.")
    volume: str | None = Field(
        None, description="Metric multiplied by the change to count units (e.g. scheduled hours)."
    )
    price: Decimal = Field(ge=0, description="Price per unit of improvement.")
    unit: str | None = Field(None, description="What one unit is, e.g. `avoided sick hour`.")
    threshold: Threshold | None = Field(None, description="No payment below a minimum effect.")
    allow_negative: bool = Field(False, description="A worsening is a deduction rather than zero.")

    @model_validator(mode="after")
    def _against_baseline(self) -> Improvement:
        if self.measure.baseline is None:
            raise ValueError("an improvement is measured against a baseline: give measure.baseline")
        return self


class LinearScale(RuleBase):
    kind: Literal["linear_scale"]
    measure: Measure = Field(description="What is measured.")
    floor: Decimal = Field(
        description="At or below this (in the better direction) nothing is paid."
    )
    target: Decimal = Field(description="At or beyond this the full amount is paid.")
    amount: Decimal = Field(ge=0, description="Paid in full at the target; linearly between.")
    threshold: Threshold | None = Field(None, description="No payment below a minimum effect.")


class Band(_Frozen):
    at_least: Decimal = Field(description="Lowest measured value of the band.")
    amount: Decimal = Field(ge=0, description="Paid when the measure reaches this band.")


class Tiered(RuleBase):
    kind: Literal["tiered"]
    measure: Measure = Field(description="What is measured.")
    bands: tuple[Band, ...] = Field(
        min_length=1, description="Step function: the highest band reached pays."
    )
    threshold: Threshold | None = Field(None, description="No payment below a minimum effect.")


class Bonus(RuleBase):
    kind: Literal["bonus"]
    measure: Measure = Field(description="What is measured.")
    above: Decimal = Field(description="The quota; only results beyond it earn the bonus.")
    amount: Decimal | None = Field(
        None, ge=0, description="A fixed bonus once the quota is exceeded."
    )
    per_step: Decimal | None = Field(
        None, ge=0, description="Or: paid per full `step` beyond the quota."
    )
    step: Decimal = Field(
        Decimal(1), gt=0, description="Size of one step (0.01 = one percentage point)."
    )

    @model_validator(mode="after")
    def _one_amount(self) -> Bonus:
        if (self.amount is None) == (self.per_step is None):
            raise ValueError("give exactly one of amount and per_step")
        return self


class Malus(RuleBase):
    kind: Literal["malus"]
    measure: Measure = Field(description="What is measured.")
    below: Decimal = Field(description="Results short of this are deducted for.")
    amount: Decimal | None = Field(
        None, ge=0, description="A fixed deduction when the result falls short."
    )
    per_step: Decimal | None = Field(
        None, ge=0, description="Or: deducted per full `step` short of the level."
    )
    step: Decimal = Field(Decimal(1), gt=0, description="Size of one step.")
    max_deduction: Decimal | None = Field(
        None, ge=0, description="Largest deduction in one period."
    )

    @model_validator(mode="after")
    def _one_amount(self) -> Malus:
        if (self.amount is None) == (self.per_step is None):
            raise ValueError("give exactly one of amount and per_step")
        return self


class SavingsShare(RuleBase):
    kind: Literal["savings_share"]
    measure: Measure = Field(
        description="What the saving is computed from (e.g. care days avoided)."
    )
    unit_value: Decimal = Field(
        Decimal(1), ge=0, description="Value of one unit of the measure (kr per care day)."
    )
    share: Decimal = Field(
        gt=0, le=1, description="Share of the saving paid (until break-even, if set)."
    )
    break_even: Decimal | None = Field(
        None, gt=0, description="Paid to date at which the share switches."
    )
    share_after: Decimal | None = Field(
        None, ge=0, le=1, description="Share paid beyond break-even."
    )
    floor: Decimal | None = Field(None, ge=0, description="Guaranteed minimum payment per period.")
    return_cap: Decimal | None = Field(
        None, ge=0, description="Most paid beyond break-even over the contract."
    )
    return_gate: str | None = Field(
        None,
        description="Metric expression that must hold for anything beyond break-even to be paid.",
    )

    @model_validator(mode="after")
    def _switch(self) -> SavingsShare:
        if (self.break_even is None) != (self.share_after is None):
            raise ValueError("break_even and share_after go together")
        if (
            self.return_cap is not None or self.return_gate is not None
        ) and self.break_even is None:
            raise ValueError("return_cap and return_gate need a break_even")
        return self


Rule = Annotated[
    FixedFee
    | Target
    | RateCard
    | Improvement
    | LinearScale
    | Tiered
    | Bonus
    | Malus
    | SavingsShare,
    Field(discriminator="kind"),
]

MEASURE_RULES = (Improvement, LinearScale, Tiered, Bonus, Malus, SavingsShare)
