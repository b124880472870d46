"""Scenarios: the world a scheme runs in (docs/design.md, "A simulated day"), as pydantic models;
`load.py` reads them from YAML with the same located errors as schemes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from ..scheme.errors import LocatedValueError
from ..scheme.models import FiniteModel, NonNegative
from .enrolment import EnrolmentSpec
from .gaming import GamingSpec

SCHEME_NAME = r"[a-z_][a-z0-9_]*"


class IncomeSpec(FiniteModel):
    lognormal: tuple[float, float] = Field((10.0, 0.6), description="[mu, sigma] of log yearly income.")
    group_factor: dict[str, NonNegative] = Field(default_factory=dict,
                                           description="Income multiplier by group (structural inequality).")


class PopulationSpec(FiniteModel):
    size: int = Field(100_000, ge=1, description="Number of people.")
    groups: dict[str, float] = Field(default_factory=lambda: {"majority": 0.9, "minority": 0.1},
                                     description="Group shares; they must add up to 1.")
    districts: int = Field(20, ge=1, description="Number of districts (neighbourhoods).")
    income: IncomeSpec = Field(default_factory=IncomeSpec)
    age: tuple[int, int] = Field((18, 80), description="[min, max] age of adults, uniform.")
    female_share: float = Field(0.5, ge=0, le=1, description="Share of women (face identification errs more "
                                                              "for women: NISTIR 8280).")

    @model_validator(mode="after")
    def _shares(self) -> PopulationSpec:
        total = sum(self.groups.values())
        if not self.groups or abs(total - 1) > 1e-6 or min(self.groups.values()) < 0:
            raise ValueError(f"group shares must be >= 0 and add up to 1 (they add up to {total:g})")
        return self


class NetworkSpec(FiniteModel):
    model: Literal["homophilous_small_world"] = "homophilous_small_world"
    mean_degree: int = Field(10, ge=0, description="Mean number of ties per person (even numbers are exact).")
    homophily: float = Field(0.8, ge=0, le=1, description="Chance a tie stays within one's group and district.")
    rewiring: float = Field(0.05, ge=0, le=1, description="Chance a tie is a shortcut to anyone, anywhere.")


class BehaviourSpec(FiniteModel):
    rate: float = Field(ge=0, description="Mean events per person per day, before modulation.")
    heterogeneity: float = Field(1.0, ge=0, description="Spread of personal propensity (gamma, mean 1, var h).")
    deterrence: float = Field(0.0, ge=0, description="Fall in rate per percentage point of the scale at stake, "
                                                     "at certain observation: rate * exp(-d * p_obs * stake).")
    stress: float = Field(0.0, ge=0, description="Elasticity to income stress: rate * (median / income) ** stress.")
    value: tuple[float, float] = Field((1.0, 1.0), description="Event value drawn uniformly in [lo, hi].")
    group_factor: dict[str, NonNegative] = Field(default_factory=dict, description="Rate multiplier by group.")
    requires: list[str] = Field(default_factory=list,
                                description="Entitlements needed to do this at all (no flights when barred).")


class WatchlistMembersSpec(FiniteModel):
    share: float = Field(ge=0, le=1, description="Share of the population on the watchlist (wanted people), "
                                                 "drawn once at the start (0: a watchlist of people from "
                                                 "elsewhere, of the given `size`).")


class WatchlistSpec(FiniteModel):
    """Watchlist policing by a camera source: every face the cameras scan is searched against a
    watchlist; a match is an alert; an alert on someone not on the watchlist is a false alert, and
    may lead to a stop of an innocent person."""

    scans_per_person_day: float = Field(gt=0, description="Mean times a day a person is scanned where the source "
                                                          "covers their district fully (every passer-by is "
                                                          "searched, not only people committing an act); scaled "
                                                          "by the district's coverage.")
    members: WatchlistMembersSpec | None = Field(None, description="Who is on the watchlist: a share of the "
                                                                   "population ({share: 0.002}).")
    members_from_list: str | None = Field(None, description="Who is on the watchlist: the members of a list of "
                                                            "the scheme, as it stands each day (a blacklist).")
    size: int | None = Field(None, ge=1, description="Faces on the watchlist searched (the gallery), where it holds "
                                                     "more people than this population's members (wanted people "
                                                     "from elsewhere); default: the members. The profile's "
                                                     "false-match rate is scaled to it.")
    stop_chance: float = Field(0.5, ge=0, le=1, description="Chance that a false alert leads officers to stop "
                                                            "the innocent person.")

    @model_validator(mode="after")
    def _one_membership(self) -> WatchlistSpec:
        if (self.members is None) == (self.members_from_list is None):
            raise ValueError("give who is on the watchlist: members: {share: ...} or members_from_list: <a list "
                             "of the scheme>, one of the two")
        return self


class SourceSpec(FiniteModel):
    observes: list[str] = Field(description="Event kinds this source records.")
    coverage: float = Field(1.0, ge=0, le=1, description="Chance a true event is recorded.")
    district_coverage: dict[int, float] = Field(default_factory=dict,
                                                description="Coverage by district index, overriding `coverage` "
                                                            "(cameras denser downtown).")
    delay_days: int = Field(0, ge=0, description="Days between an act and its record reaching the scheme.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Chance a record is attached to the wrong person "
                                                           "(a clerical mix-up within the district).")
    identification: str | None = Field(None, description="Face identification profile (cameras): misses lose "
                                                         "the event, false matches blame someone else.")
    affected_groups: list[str] = Field(default_factory=list, description="Groups the identification profile "
                                                                         "misidentifies most often.")
    watchlist: WatchlistSpec | None = Field(None, description="Watchlist policing: every face scanned is searched "
                                                              "against a watchlist (needs `identification`).")


class EffectSpec(FiniteModel):
    income_growth: float = Field(0.0, description="Change in yearly income growth while in force (-0.02 = -2%).")
    behaviours: dict[str, float] = Field(default_factory=dict,
                                         description="Multipliers on behaviour rates while in force.")


class RemovalSpec(FiniteModel):
    """Paying to have one's picture taken off a public display (README, "Paying to be taken off the
    screen"): each day a person shown pays with chance rate / (1 + (fee / income) / half_burden),
    and 0 where the fee is a year's income or more."""

    fee: float = Field(0.0, ge=0, description="What removal costs, in the units of income (yearly income).")
    rate: float = Field(0.0, ge=0, le=1, description="Daily chance that a person shown pays when the fee is "
                                                     "nothing to them (0: nobody pays).")
    half_burden: float = Field(0.01, gt=0, description="The fee's share of a year's income at which the daily "
                                                       "chance is half of `rate`.")


class ConsequenceSpec(FiniteModel):
    """For an entitlement: effects while denied or granted. For a list: public disclosure."""

    denied: EffectSpec = Field(default_factory=EffectSpec, description="Effects while the entitlement is denied.")
    granted: EffectSpec = Field(default_factory=EffectSpec, description="Effects while it is granted.")
    disclose: float = Field(0.0, ge=0, le=1, description="For a list: share of a listed person's ties who see it "
                                                          "(published blacklists, jaywalker screens).")
    removal: RemovalSpec | None = Field(None, description="For a disclosed list: a fee paid to have one's picture "
                                                          "taken off the display (one stays on the list).")


class AppealsSpec(FiniteModel):
    propensity: float = Field(0.3, ge=0, le=1, description="Chance a newly sanctioned person appeals.")
    group_factor: dict[str, NonNegative] = Field(default_factory=dict, description="Propensity multiplier by group.")
    income_elasticity: float = Field(0.0, description="Propensity * (income / median) ** elasticity: the better "
                                                      "off appeal more.")
    reviewer_capacity_per_day: int = Field(200, ge=0, description="Appeals decided per day; the rest wait.")
    success_if_wrong: float = Field(0.9, ge=0, le=1, description="Chance a contested wrong record is voided.")
    success_if_right: float = Field(0.05, ge=0, le=1, description="Chance a contested true record is voided.")
    kinds: list[str] | None = Field(None, description="Event kinds that can be contested (default: all).")


class IncidentSpec(FiniteModel):
    """A source goes wrong for a while (the TSB IT failure of April 2018: payments recorded late,
    twice, or not at all) for a share of people."""

    day: int = Field(ge=0, description="First day of the incident.")
    days: int = Field(ge=1, description="How long it lasts.")
    source: str = Field(description="The source that goes wrong.")
    share: float = Field(1.0, gt=0, le=1, description="Share of people whose records it touches.")
    corrupt: dict[str, float] = Field(default_factory=dict, description="{kind: p}: a record becomes this kind "
                                                                        "with chance p (a payment recorded late).")
    duplicate: float = Field(0.0, ge=0, le=1, description="Chance a record is written twice.")
    drop: float = Field(0.0, ge=0, le=1, description="Chance a record is lost.")


class SocialSpec(FiniteModel):
    shun_listed: float = Field(0.0, ge=0, le=1, description="Daily chance that a tie who sees a person on a "
                                                             "disclosed list cuts the tie.")
    rewire: bool = Field(True, description="Whoever drops a tie makes a new one with someone of similar score.")
    similarity_window: float = Field(0.02, gt=0, le=1, description="New ties go to people within this share of "
                                                                    "the population in score rank.")
    rebuild_every_days: int = Field(7, ge=1, description="How often the tie changes are applied to the graph.")


class EconomySpec(FiniteModel):
    income_growth: float = Field(0.02, description="Baseline yearly income growth.")
    income_volatility: float = Field(0.10, ge=0, description="Yearly standard deviation of log income shocks.")


class RunSpec(FiniteModel):
    days: int = Field(365, ge=1)
    seed: int = Field(1, ge=0)
    chunk: int = Field(1 << 20, ge=1024, description="People per random-stream block; results depend on it, "
                                                      "never on the number of workers.")
    start: dt.date = Field(dt.date(2025, 1, 1), description="Calendar date of day 0 (event times).")
    perception_every_days: int = Field(7, ge=1, description="How often people re-assess what an act would cost "
                                                             "them (deterrence).")
    burn_in_days: int = Field(0, ge=0, description="Days simulated before day 0 and not reported, so that the run "
                                                   "starts from the state a scheme that began earlier has reached "
                                                   "(its records, lists, incomes and ties); reported figures count "
                                                   "from day 0.")


OPERATORS = ("state", "court", "city", "private")


class Receipt(FiniteModel):
    """A source's records reaching a scheme on terms of their own: shared or sold late, or in part
    (a private scorer buying half a city's camera records a month late)."""

    source: str = Field(description="The surveillance source whose records reach the scheme.")
    delay_days: int = Field(0, ge=0, description="Days after a record reaches the schemes that receive the source "
                                                 "directly (after the source's own delay_days) that it reaches this "
                                                 "one, still dated when the act happened.")
    coverage: float = Field(1.0, ge=0, le=1, description="Chance that each record of the source reaches this scheme "
                                                         "(a share of the records, drawn record by record).")


class SchemeEntry(FiniteModel):
    """One of several schemes scoring the same people on the same days (README, "Several schemes")."""

    scheme: str = Field(description="A shipped scheme id, or a path to a scheme YAML file.")
    operator: Literal["state", "court", "city", "private"] = Field(
        description="Who runs the scheme: a state agency, a court, a city, or a private company.")
    receives: list[str | Receipt] | None = Field(
        None, description="The surveillance sources whose records reach this scheme (default: every source): a "
                          "source's name, or {source, delay_days, coverage} for records shared or sold late or in "
                          "part. Of those it scores only the kinds its scheme declares.")
    lists_from: dict[str, str] = Field(
        default_factory=dict, description="Each input list the scheme declares (its `input_lists`), wired to "
                                          "another scheme's list: court_blacklist: court.dishonest_debtor (joint "
                                          "punishment).")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Changes to this scheme's YAML (null deletes "
                                                                        "a key), as `scheme_overrides` for one scheme.")


class Scenario(FiniteModel):
    # What `_one_form` checks, said in the JSON Schema too: one scheme, or several (never both, never
    # neither; several at least one, and no `scheme_overrides` beside them).
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"oneOf": [
        {"required": ["scheme"], "not": {"required": ["schemes"]}},
        {"required": ["schemes"], "properties": {"schemes": {"minProperties": 1}},
         "not": {"anyOf": [{"required": ["scheme"]}, {"required": ["scheme_overrides"]}]}},
    ]})

    id: str = Field("custom", pattern=r"^[a-z0-9_-]+$")
    title: str = ""
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    scheme: str | None = Field(None, description="A shipped scheme id, or a path to a scheme YAML file (one scheme; "
                                                 "or `schemes` for several).")
    schemes: dict[str, SchemeEntry] | None = Field(
        None, description="Several schemes scoring the same people, each under a name ([a-z_][a-z0-9_]*) that "
                          "qualifies its lists and entitlements in `consequences`, `requires` and "
                          "`members_from_list` (court.blacklist) and prefixes its outputs; instead of `scheme`.",
        json_schema_extra={"propertyNames": {"pattern": f"^{SCHEME_NAME}$"}})
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    behaviours: dict[str, BehaviourSpec] = Field(default_factory=dict)
    surveillance: dict[str, SourceSpec] = Field(default_factory=dict)
    consequences: dict[str, ConsequenceSpec] = Field(default_factory=dict)
    social: SocialSpec = Field(default_factory=SocialSpec)
    appeals: AppealsSpec | None = None
    incidents: list[IncidentSpec] = Field(default_factory=list)
    scheme_overrides: dict[str, Any] = Field(default_factory=dict, description="Changes to the scheme's YAML "
                                                                               "(null deletes a key): for "
                                                                               "counterfactual rules.")
    economy: EconomySpec = Field(default_factory=EconomySpec)
    gaming: GamingSpec = Field(default_factory=GamingSpec, description="Gaming and approval seeking: points "
                                                                        "farming, pruning friends, rating inflation "
                                                                        "(README, the scenario format).")
    enrolment: dict[str, EnrolmentSpec] = Field(default_factory=dict, description="Per scheme (by its name): who "
                                                "it enrols, voluntary or mandatory (a scheme without an entry "
                                                "enrols everyone).")
    run: RunSpec = Field(default_factory=RunSpec)

    @model_validator(mode="after")
    def _one_form(self) -> Scenario:
        if self.scheme is None and self.schemes is None:
            raise LocatedValueError(("scheme",), "no scheme named: the scenario scores people with one scheme or "
                                    "several", "add scheme: <id or file> for one, or schemes: {name: {scheme: ..., "
                                    "operator: ...}} for several")
        if self.scheme is not None and self.schemes is not None:
            raise LocatedValueError(("schemes",), "both `scheme` and `schemes` are given: a scenario has one of "
                                    "the two", "keep scheme: for one scheme, or move it into schemes: as one of "
                                    "several")
        if self.schemes is not None:
            if not self.schemes:
                raise LocatedValueError(("schemes",), "names no scheme",
                                        "name at least one: schemes: {name: {scheme: ..., operator: ...}}")
            bad = [name for name in self.schemes if not re.fullmatch(SCHEME_NAME, name)]
            if bad:
                raise LocatedValueError(("schemes", bad[0]), f"scheme name '{bad[0]}' must match {SCHEME_NAME} (it "
                                        "qualifies the scheme's lists and entitlements, as court.blacklist)",
                                        "use lower-case letters, digits and '_', starting with a letter or '_'")
            if self.scheme_overrides:
                raise LocatedValueError(("scheme_overrides",), "scheme_overrides change the one `scheme`, and this "
                                        "scenario has several", "give each scheme's changes as its `overrides`")
        return self

    @property
    def size_and_length(self) -> str:
        """What this run is: its people and days (and burn-in), as every title shows it."""
        days = self.run.days
        length = "a year" if days == 365 else f"{days:,} day{'s' * (days != 1)}"
        burn_in = f" after {self.run.burn_in_days:,} days of burn-in" if self.run.burn_in_days else ""
        return f"{self.population.size:,} people, {length}{burn_in}"

    @property
    def full_title(self) -> str:
        """The title with the run's actual size and length, never those the file was written for."""
        return f"{self.title or self.id}: {self.size_and_length}"
