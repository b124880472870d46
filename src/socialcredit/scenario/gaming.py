"""Gaming and approval seeking (issue 20): what people do to a scheme rather than what it is meant
to measure. The scenario's `gaming` section, its checks against the schemes, and nothing else: the
mechanisms are phases of their own (`world/farming.py`). Every default does nothing, so a scenario
without `gaming` runs as before, to the bit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ..scheme.errors import Problem
from ..scheme.models import FiniteModel, NonNegative

if TYPE_CHECKING:
    from .models import Scenario


class PersonalPropensity(FiniteModel):
    """How much more or less than others each person games the rules: a personal propensity drawn
    once (gamma, mean 1), times a factor by group."""

    heterogeneity: float = Field(1.0, ge=0, description="Spread of the personal propensity (gamma, mean 1, "
                                                        "variance h).")
    group_factor: dict[str, NonNegative] = Field(default_factory=dict, description="Multiplier by group.")


class FarmingSpec(PersonalPropensity):
    """Points farming of one rewarded act: acts done for the record, not for their own sake."""

    propensity: float = Field(0.0, ge=0, description="Farmed acts a day = propensity x personal farming propensity "
                                                     "x group factor x the extra acts a day the scheme's reward "
                                                     "causes (rate under the scheme - rate without its weight; 0 "
                                                     "where the act is not rewarded).")


class PruningSpec(PersonalPropensity):
    """Pruning friends: under a scheme with a network term, people cut ties to low scorers to protect
    their own score."""

    rate: float = Field(0.0, ge=0, description="Daily chance of cutting a tie per percentage point of the scale "
                                               "the tie costs one through the network term (x personal "
                                               "propensity x group factor, at most 1).")


class InflationSpec(FiniteModel):
    """Rating inflation of one rating kind: ratings that are public and reciprocal are strategic."""

    reciprocity: float = Field(0.0, ge=0, le=1, description="Chance a rating below the top is given at the top "
                                                            "instead: rating up to be rated up.")
    retaliation: float = Field(0.0, ge=0, le=1, description="Further chance a bad rating (below `bad_below`) is "
                                                            "given at the top instead: fear of retaliation.")
    bad_below: float | None = Field(None, description="An honest rating below this is bad (default: the middle of "
                                                      "the kind's value range; every rating of a kind with one value, "
                                                      "such as a negative feedback, is bad).")
    private: bool = Field(False, description="Ratings are private (neither public nor answered): given honestly, "
                                             "whatever reciprocity and retaliation say.")
    quality_spread: float = Field(0.5, ge=0, description="Standard deviation of the true quality of the person "
                                                         "rated (normal, mean 0, in the kind's value units; a "
                                                         "kind of star ratings only).")
    honest_mean: float | None = Field(None, description="An honest rating's mean for a person of quality 0 "
                                                        "(default: the middle of the value range).")
    noise: float = Field(1.0, ge=0, description="Standard deviation of an honest rating about the rated person's "
                                                "honest mean (the rater's taste, the day).")


class GamingSpec(FiniteModel):
    farming: dict[str, FarmingSpec] = Field(default_factory=dict, description="Points farming, per rewarded event "
                                                                              "kind.")
    pruning: PruningSpec = Field(default_factory=PruningSpec, description="Pruning friends (a scheme with a network "
                                                                          "term).")
    inflation: dict[str, InflationSpec] = Field(default_factory=dict, description="Rating inflation, per rating "
                                                                                  "event kind.")


def gaming_problems(scenario: Scenario, networked: bool) -> list[Problem]:
    """(path, problem, fix) of each farmed kind the scenario cannot farm: a kind no behaviour has,
    one no reward can move (no deterrence), one no source records (a farmed act is done to be
    recorded), or an unknown group; pruning where no scheme has a network term (`networked`)."""
    problems: list[Problem] = []
    behaviours, surveillance = scenario.behaviours, scenario.surveillance
    groups = set(scenario.population.groups)
    for kind, spec in scenario.gaming.farming.items():
        path = ("gaming", "farming", kind)
        if kind not in behaviours:
            problems.append(Problem(path, f"'{kind}' has no behaviour: nobody does it, so nobody can farm it",
                             f"give behaviours.{kind} a rate, or farm one of: {', '.join(sorted(behaviours))}"))
            continue
        if not behaviours[kind].deterrence and spec.propensity:  # (a propensity of 0 farms nothing)
            problems.append(Problem(path, f"behaviours.{kind}.deterrence is 0: no reward moves this act, so there is "
                                   "nothing to farm", f"set behaviours.{kind}.deterrence (how strongly points at "
                                                      "stake move the act)"))
        if not any(kind in source.observes for source in surveillance.values()):
            problems.append(Problem(path, f"no surveillance source observes '{kind}': a farmed act is done to be "
                                   "recorded", f"add '{kind}' to a source's observes"))
        for group in spec.group_factor:
            if group not in groups:
                problems.append(Problem((*path, "group_factor", group), f"unknown group '{group}'",
                                 f"use one of: {', '.join(sorted(groups))}"))
    pruning = scenario.gaming.pruning
    if pruning.rate and not networked:
        problems.append(Problem(("gaming", "pruning", "rate"), "no scheme of this scenario has a network term, so no "
                                "tie costs anyone points and nobody prunes", "give the scheme a network term "
                                "(scheme_overrides: {network: {weight: 0.2}}), or set gaming.pruning.rate: 0"))
    for group in pruning.group_factor:
        if group not in groups:
            problems.append(Problem(("gaming", "pruning", "group_factor", group), f"unknown group '{group}'",
                                    f"use one of: {', '.join(sorted(groups))}"))
    for kind in scenario.gaming.inflation:
        if kind not in behaviours:
            problems.append(Problem(("gaming", "inflation", kind), f"'{kind}' has no behaviour: no one gives such "
                                    "ratings, so none can be inflated", f"give behaviours.{kind} a rate, or inflate "
                                    f"one of: {', '.join(sorted(behaviours))}"))
    return problems
