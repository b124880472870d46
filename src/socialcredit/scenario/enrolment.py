"""Enrolment (issue 20, "Enrolment"): who a scheme scores. The scenario's `enrolment` section, per
scheme, and its checks against the schemes; the mechanism is a phase of its own
(`world/enrolment.py`). A scheme without an entry enrols everyone from the start, as every scheme
always did, so a scenario without `enrolment` runs as before, to the bit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..scheme.errors import Problem
from .gaming import PersonalPropensity

if TYPE_CHECKING:
    from .load import Schemes
    from .models import Scenario


class EnrolmentSpec(PersonalPropensity):
    """One scheme's enrolment rule. `mandatory`: everyone is enrolled from `mandatory_from_day`
    (nobody before it). `voluntary`: each person decides on each of the scheme's update days whether
    to join or stay, by what enrolling changes for them (the entitlements it grants or costs, the
    disclosed lists it puts them on, weighed as the behaviour model weighs them, less their
    reluctance), with a personal propensity (gamma, mean 1, `heterogeneity`) x `group_factor`;
    `mandatory_from_day` then switches the scheme to mandatory on that day."""

    rule: Literal["voluntary", "mandatory"] = Field(..., description="Who is enrolled: everyone (from "
                                                                    "`mandatory_from_day`) or those who choose to.")
    mandatory_from_day: int | None = Field(None, ge=0, description="The day (0 the first) from which everyone is "
                                                                   "enrolled: required for `mandatory`; for "
                                                                   "`voluntary`, a switch to mandatory (none: "
                                                                   "voluntary throughout).")
    enrolled_at_start: float = Field(0.0, ge=0, le=1, description="Voluntary: the share enrolled on day 0, before "
                                                                  "anyone weighs it (the early adopters).")
    join_rate: float = Field(0.0, ge=0, description="Voluntary: the chance an unenrolled person joins on an update "
                                                    "day, per sanction's weight of what joining gains them (x "
                                                    "personal propensity x group factor, at most 1).")
    leave_rate: float = Field(0.0, ge=0, description="Voluntary: the chance an enrolled person leaves on an update "
                                                     "day, per sanction's weight of what staying costs them (x "
                                                     "personal propensity x group factor, at most 1).")
    reluctance: float = Field(0.0, description="What being enrolled costs anyone in their own mind, in percentage "
                                               "points of the scale (a sanction weighs 10): privacy, the bother. "
                                               "Negative: the convenience of joining.")
    retention: Literal["kept", "dropped"] = Field("kept", description="What the scheme keeps of a person who "
                                                                      "leaves: their records until they age out "
                                                                      "(`kept`), or nothing (`dropped`).")
    unenrolled: Literal["as_unscored", "denied", "allowed"] = Field(
        "as_unscored", description="What the scheme's entitlements and lists do with people not enrolled: its own "
                                   "rules read them as unscored (`scored` false, score, pre and tier NaN), every "
                                   "entitlement `denied` (bad risks, on no list), or every one `allowed` (left "
                                   "alone, on no list).")


def enrolment_problems(scenario: Scenario, schemes: Schemes) -> list[Problem]:
    """(path, problem, fix) of each enrolment entry naming no scheme, a mandatory rule without its
    day, a voluntary rule nobody could ever join by, or an unknown group. (A switch day after the
    run's end is allowed: a shortened run of a preset is voluntary throughout.)"""
    problems: list[Problem] = []
    names = [entry.name for entry in schemes]
    groups = set(scenario.population.groups)
    for name, spec in scenario.enrolment.items():
        path = ("enrolment", name)
        if name not in names:
            problems.append(Problem((*path, "<key>"), f"no scheme of this scenario is named '{name}'",
                                    f"key the rule by the scheme's name: {', '.join(names)}"))
        if spec.rule == "mandatory" and spec.mandatory_from_day is None:
            problems.append(Problem((*path, "mandatory_from_day"), "a mandatory scheme needs the day from which "
                                    "everyone is enrolled", "set mandatory_from_day (0: from the first day)"))
        if spec.rule == "voluntary" and not spec.join_rate and not spec.enrolled_at_start \
                and spec.mandatory_from_day is None:
            problems.append(Problem((*path, "join_rate"), "a voluntary scheme with no one enrolled at the start and "
                                    "a join_rate of 0 never enrols anyone", "set join_rate (and enrolled_at_start), "
                                    "or make the rule mandatory"))
        for group in spec.group_factor:
            if group not in groups:
                problems.append(Problem((*path, "group_factor", group), f"unknown group '{group}'",
                                        f"use one of: {', '.join(sorted(groups))}"))
    return problems
