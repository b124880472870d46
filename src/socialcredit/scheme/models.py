"""Pydantic models of the scheme format (docs/design.md, "The scheme format"). Structure and types only; the checks
that need the whole scheme (references, cycles, orderings) live in `validate.py`."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from .validate import Rules, check_scheme

# GDPR Art. 9 special categories, plus what people say or post. `score` and `serve` refuse
# schemes that read them; `simulate` runs them to measure what such rules do.
SPECIAL_CATEGORIES = (
    "political", "religion", "ethnicity", "health", "sexuality", "union", "genetic", "biometric", "expression",
)
ORDINARY_CATEGORIES = (
    "financial",   # payments, debts, loans, deposits
    "judicial",    # court judgments, enforcement
    "conduct",     # traffic and public-order offences
    "civic",       # volunteering, donations, awards
    "peer",        # ratings by other people
    "commercial",  # trading, disputes between buyers and sellers
    "consumption", # what people buy
    "identity",    # verified identity and documents
    "employment",  # jobs and contracts
    "education",   # schooling and degrees
    "mobility",    # travel and transport use
    "social",      # relationships and contacts
)
CATEGORIES = ORDINARY_CATEGORIES + SPECIAL_CATEGORIES
Category = Literal[
    "financial", "judicial", "conduct", "civic", "peer", "commercial", "consumption", "identity",
    "employment", "education", "mobility", "social",
    "political", "religion", "ethnicity", "health", "sexuality", "union", "genetic", "biometric", "expression",
]

FEATURE_TYPES = ("count", "sum", "mean", "days_since", "ratio")
NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A number that may not be negative (a multiplier of a rate or a propensity), as a dict's value.
NonNegative = Annotated[float, Field(ge=0)]


class FiniteModel(StrictModel):
    """A model whose numbers are all finite: `.nan` or `.inf` is refused as not a number, where it
    would otherwise pass a bound it cannot be compared with, or fail one with a misleading message."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Scale(StrictModel):
    min: float = Field(description="Lowest possible score.")
    max: float = Field(description="Highest possible score.")
    base: float = Field(description="The score of a subject with no points gained or lost.")


# The largest value (either way) an event may carry, whatever its kind: whole numbers are exact in a
# double up to 2**53 (about 9.0e15), and sums of values this size stay finite, so no feature, points
# or score becomes infinite (which no JSON answer and no ordering can hold).
LARGEST_VALUE = 1e15


class EventKind(StrictModel):
    category: Category = Field(description="The data category of this kind of event.")
    value: tuple[float, float] | None = Field(None, description="The values an event of this kind may carry, "
                                                                "[lowest, highest] (days late, stars, hours); "
                                                                f"default and at most: from {-LARGEST_VALUE:g} to "
                                                                f"{LARGEST_VALUE:g}. A value outside is a bad row in "
                                                                "`score` and a rejected event in `serve`.")

    @model_validator(mode="after")
    def _ordered_bounded_range(self) -> EventKind:
        if self.value is not None:
            low, high = self.value
            if not (-LARGEST_VALUE <= low <= high <= LARGEST_VALUE):
                raise ValueError(f"value: [{low}, {high}] is not a range of values an event can carry; give "
                                 f"[lowest, highest], from {-LARGEST_VALUE:g} to {LARGEST_VALUE:g}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """(lowest, highest) value an event of this kind may carry."""
        return self.value if self.value is not None else (-LARGEST_VALUE, LARGEST_VALUE)

    def accepts(self, values: np.ndarray) -> np.ndarray:
        """Which of `values` an event of this kind may carry (within its `bounds`; never NaN)."""
        low, high = self.bounds
        return (values >= low) & (values <= high)

    def range_text(self) -> str:
        low, high = self.bounds
        return f"from {low:g} to {high:g}"


class Feature(StrictModel):
    """Exactly one of count/sum/mean/days_since (an event kind) or ratio (two features)."""

    TYPES: ClassVar[tuple[str, ...]] = FEATURE_TYPES  # for validate.py, which cannot import this module

    count: str | None = Field(None, description="Count events of this kind.")
    sum: str | None = Field(None, description="Sum the value of events of this kind.")
    mean: str | None = Field(None, description="Mean value of events of this kind, weighted by weight.")
    days_since: str | None = Field(None, description="Days since the latest event of this kind.")
    ratio: list[str] | None = Field(None, description="[a, b]: feature a / feature b, 0 where b is 0.")
    window_days: float | None = Field(None, gt=0, description="Hard window: as_of - window < t <= as_of.")
    half_life_days: float | None = Field(None, gt=0, description="Exponential weight 0.5 ** (age / half-life).")
    default: float | None = Field(None, description="Value where there is no event (mean, days_since).")
    merge_within_days: float | None = Field(None, gt=0, description="count only: an event no more than this many "
                                                                    "days after the subject's previous one of the "
                                                                    "kind is merged into it (rate shopping).")

    @property
    def type(self) -> str:
        for name in FEATURE_TYPES:
            if getattr(self, name) is not None:
                return name
        raise ValueError("feature has no type")  # validate.py rejects this before anyone asks

    @property
    def event(self) -> str | None:
        """The event kind read directly (None for a ratio)."""
        return None if self.type == "ratio" else getattr(self, self.type)


class Bin(StrictModel):
    upto: float | None = Field(None, description="Upper bound (inclusive); omitted on the last, catch-all bin.")
    points: float


class Component(StrictModel):
    feature: str = Field(description="The feature this component turns into points.")
    bins: list[Bin] | None = Field(None, description="Scorecard bins: the first bin with value <= upto.")
    per_unit: float | None = Field(None, description="Linear: points = per_unit * value.")
    min: float | None = Field(None, description="Points are clipped to at least this.")
    max: float | None = Field(None, description="Points are clipped to at most this.")

    def best_points(self) -> float:
        """The most points attainable, against which points lost are measured for reason codes."""
        if self.bins is not None:
            best = max(b.points for b in self.bins)
            if self.max is not None:
                best = min(best, self.max)
            if self.min is not None:
                best = max(best, self.min)
            return best
        return self.max if self.max is not None else 0.0


class Network(StrictModel):
    weight: float = Field(description="score = pre + weight * (mean of neighbours' pre - base).")


class Tier(StrictModel):
    name: str = Field(min_length=1)
    min: float


class ListSpec(StrictModel):
    """A list written as a mapping, to say more than its condition."""

    when: str = Field(description="Expression: on the list where true.")
    honour: bool = Field(False, description="A list people want to be on (a red list, an honour roll): its harm is "
                                            "being left off, not being on it.")


class TierCap(StrictModel):
    """A condition that holds a subject's tier down, whatever their score (Rongcheng: drunk driving
    makes one grade C at best)."""

    name: str | None = Field(None, description="The reason code given where this cap holds a tier below what the "
                                               "score gives (it shares the namespace of features, components, lists "
                                               "and entitlements). Default: 'cap_' and the names `when` reads, in "
                                               "the order they first appear, joined by '_' (then '_2', '_3'... "
                                               "where that is taken).")
    when: str = Field(description="Expression over features, components, score and pre.")
    at_most: str = Field(description="The highest tier a subject meeting `when` may have.")


class Unscored(StrictModel):
    """A condition under which a subject cannot be scored (a thin file: FICO's minimum scoring
    criteria), with its reason code."""

    when: str = Field(description="Expression over features: where true, the subject has no score, pre or tier.")
    reason: str = Field(description="The reason code given where `when` holds (it shares the namespace of "
                                    "features, components, lists, entitlements and tier caps).")


class InputList(StrictModel):
    """A list the scheme reads but does not compute: another body's list (a court's defaulters),
    wired to another scheme's list in a simulation and supplied as a membership file (`score`) or
    through the admin API (`serve`) for real people (README, "Input lists")."""

    category: Category = Field(description="The data category of what puts a person on the list (a court's list "
                                           "of defaulters: judicial). The real-person guard judges an entitlement "
                                           "that reads the list as reading data of this category.")
    description: str = Field("", description="What the list is and who keeps it.")


class Entitlement(StrictModel):
    allow: str = Field(description="Expression: allowed where true.")
    context: Category = Field(description="The category of life this entitlement belongs to.")
    uses: list[Category] = Field(default_factory=list, description="Other categories it may lawfully use.")
    perk: bool = Field(False, description="A privilege of the well-scored (a deposit waived, a fast lane): going "
                                          "without it is not a sanction, though losing it wrongly is a harm.")


class Reasons(StrictModel):
    """How many reason codes to give, and components always given when they lost points (the US
    FCRA's rule: up to 4 key factors, plus inquiries when inquiries is a key factor)."""

    count: int = Field(4, ge=0, description="The components that lost the most points, at most this many.")
    also: list[str] = Field(default_factory=list, description="Components added after those when they lost "
                                                               "points but were not among them.")


class Scheme(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str
    version: str = Field("1", description="Changes whenever the rules change; reported with every score.")
    sources: list[str] = Field(default_factory=list)
    scale: Scale
    retention_days: float | None = Field(None, gt=0)
    update_every_days: int = Field(1, ge=1)
    events: dict[str, EventKind]
    features: dict[str, Feature] = Field(default_factory=dict)
    components: dict[str, Component] = Field(default_factory=dict)
    network: Network | None = None
    tiers: list[Tier] = Field(default_factory=list)
    tier_caps: list[TierCap] = Field(default_factory=list, description="Conditions that cap the tier; a cap that "
                                                                       "holds a tier down is the first reason code.")
    unscored: Unscored | list[Unscored] | None = Field(
        None, description="Conditions under which a subject cannot be scored, each with its reason code: "
                          "{when, reason}, or a list of them. An unscored subject has no score, pre or tier; "
                          "lists and entitlements still apply and can read `scored`.")
    lists: dict[str, str | ListSpec] = Field(default_factory=dict,
                                            description="name: expression, or name: {when: expression, honour: true}")
    input_lists: dict[str, InputList] = Field(
        default_factory=dict, description="Lists this scheme reads but does not compute (joint punishment: a court's "
                                          "blacklist), each with its data category; lists, entitlements and tier "
                                          "caps read one as a list (true for its members). Wired to another scheme's "
                                          "list by a scenario (`lists_from`), supplied by `score --list` and "
                                          "`serve`'s admin API.")
    entitlements: dict[str, Entitlement] = Field(default_factory=dict)
    reasons: int | Reasons = Field(4, description="How many components to give as reason codes: a number, or "
                                                  "{count, also}. A tier cap that held the tier down is given "
                                                  "first, besides these.")

    _rules: Rules = PrivateAttr()

    @model_validator(mode="after")
    def _check_whole_scheme(self) -> Scheme:
        # Raises SchemeError (not a ValueError) so that its YAML paths reach the user unchanged.
        self._rules = check_scheme(self)
        return self

    @property
    def rules(self) -> Rules:
        """Compiled expressions and dependency orders, made once when the scheme was validated."""
        return self._rules

    def list_source(self, name: str) -> str:
        spec = self.lists[name]
        return spec if isinstance(spec, str) else spec.when

    @property
    def honour_lists(self) -> set[str]:
        """Lists people want to be on: missing them, not being on them, is what can harm."""
        return {name for name, spec in self.lists.items() if isinstance(spec, ListSpec) and spec.honour}

    @property
    def sanctions(self) -> list[str]:
        """Entitlements whose denial is a sanction (all but the perks)."""
        return [name for name, e in self.entitlements.items() if not e.perk]

    @property
    def reason_count(self) -> int:
        return self.reasons if isinstance(self.reasons, int) else self.reasons.count

    @property
    def reason_also(self) -> tuple[str, ...]:
        return () if isinstance(self.reasons, int) else tuple(self.reasons.also)

    @property
    def reason_width(self) -> int:
        """The most reason codes a subject can get: a tier cap's, then the components'; or, for an
        unscored subject, the codes of the conditions that hold."""
        return max((1 if self.tier_caps else 0) + self.reason_count + len(self.reason_also),
                   len(self.unscored_rules))

    @property
    def unscored_rules(self) -> tuple[Unscored, ...]:
        """The conditions under which a subject is unscored, in the scheme's order (none: all scored)."""
        if self.unscored is None:
            return ()
        return tuple(self.unscored) if isinstance(self.unscored, list) else (self.unscored,)

    @property
    def unscored_names(self) -> tuple[str, ...]:
        """The reason code of each unscored condition, in the scheme's order."""
        return tuple(rule.reason for rule in self.unscored_rules)

    @property
    def tier_names(self) -> list[str]:
        return [tier.name for tier in self.tiers]

    @property
    def tier_cap_names(self) -> tuple[str, ...]:
        """The reason code of each tier cap, in the scheme's order: its name, or the default made
        from its condition."""
        return self.rules.tier_cap_names
