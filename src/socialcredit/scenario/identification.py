"""Face identification, modelled by its measured error rates: never performed.

A profile gives, for one kind of deployment, the chance that a camera's probe of a person who is
enrolled is missed (`miss_rate`, FNIR: the event is lost) and the chance that it is matched to the
wrong person (`false_match_rate`, FPIR at the operating threshold). The false-match rate is either
given, or fitted on one real deployment (`calibration`): the false alerts per face scanned of
someone not on its watchlist,

    fpir = false_alerts / (faces_scanned - true_alerts / (1 - fnir)),

the watchlisted faces being those its true alerts imply. Other reported deployments
(`additional_deployments`) are held out: `socialcredit validate --only watchlist_deployments` runs
each deployment through the simulation's watchlist policing (world/watchlist.py) with the fitted
rate and compares the false-alert share it gives with the published one. A fitted deployment is
reproduced by construction and counts for nothing there.

In a one-to-many search the FPIR grows with the watchlist searched (the gallery): each face on it
is one more chance of an impostor score above the threshold. `fpir_for_watchlist` scales the rate
from the watchlist it was measured with (the calibration deployment's, or
`false_match_rate_watchlist`) as independent comparisons would, 1 - (1 - fpir) ** (size / reference),
about proportional while the rate is small; NPL's equitability study for UK police scales its
lab rates to the size of the operational watchlist in the same way (NPL 2023, as quoted in the
met_2025 profile's sources: "at worst a 1 in 6,000 chance ... on a watchlist with 10,000 images").
The threshold is assumed fixed: a force that retunes it per watchlist keeps its FPIR instead.

In the simulation every adult is enrolled (national ID photographs), so a camera's probe of an act
is a one-to-many search of the district's people: it is attributed to the actor, lost (a miss), or
attributed to another person (a false match). Demographic effects enter once each, where NISTIR
8280's one-to-many results put them:

- the chance of a false match depends on the probe, that is on the actor: FPIR times
  `false_match_factor` for the affected groups and for women (NISTIR 8280 found one-to-many false
  positive rates higher for some demographics of the probe: African American women, on US
  mugshots);
- the wrong candidate is the enrolled non-mate who scores highest against the probe, and impostor
  scores are highest between people of the same sex and the same race or origin (NISTIR 8280, the
  demographically matched impostor comparisons behind its false-match differentials): a false
  match blames a person of the actor's sex and group in the district, chosen uniformly, with chance
  `same_demographics_candidate` (else anyone of the district). No group's weight raises the chance
  of being the one blamed a second time.

So the share of false matches that land on group g is its share of the probes' false matches,
a_g f_g / sum_h a_h f_h (a: share of the recorded acts, f: the mean factor of its actors), not the
share of the people weighted again by f.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import yaml
from pydantic import Field, model_validator

from ..scheme.errors import Problem, SchemeError, suggest
from ..scheme.loader import PRESETS_PACKAGE
from ..scheme.models import FiniteModel


class Deployment(FiniteModel):
    deployment: str = Field(description="Where and when, as reported.")
    faces_scanned: int = Field(gt=0)
    watchlist: int = Field(gt=0)
    alerts: int = Field(ge=0)
    false_alerts: int = Field(ge=0)
    true_alerts: int | None = Field(None, ge=0)
    arrests: int | None = Field(None, ge=0)
    miss_rate: float | None = Field(None, ge=0, lt=1, description="This deployment's own miss rate, where it "
                                                                   "differs from the profile's.")

    @model_validator(mode="after")
    def _consistent(self) -> Deployment:
        if self.false_alerts > self.alerts:
            raise ValueError("false_alerts cannot exceed alerts")
        if self.true_alerts is not None and self.true_alerts + self.false_alerts != self.alerts:
            raise ValueError("true_alerts + false_alerts must equal alerts")
        return self

    @property
    def false_alert_share(self) -> float:
        return self.false_alerts / self.alerts if self.alerts else 0.0

    @property
    def true_alert_count(self) -> int:
        return self.alerts - self.false_alerts


class FalseMatchFactor(FiniteModel):
    """Multipliers of the FPIR of a probe (one-to-many search) by the probe's demographics."""

    affected_groups: float = Field(1.0, ge=1, description="Multiplier for a probe of the groups misidentified "
                                                          "most.")
    female: float = Field(1.0, ge=1, description="Multiplier for a probe of a woman.")


class IdentificationProfile(FiniteModel):
    id: str
    title: str
    sources: list[str] = Field(default_factory=list)
    miss_rate: float = Field(ge=0, lt=1, description="FNIR: chance an enrolled person's probe finds no match.")
    false_match_rate: float | None = Field(None, ge=0, lt=1, description="FPIR at the operating threshold.")
    false_match_rate_watchlist: int | None = Field(None, ge=1, description="The watchlist size false_match_rate "
                                                                           "was measured with (a fitted rate: the "
                                                                           "calibration deployment's); none: the "
                                                                           "rate is not scaled.")
    false_match_factor: FalseMatchFactor = Field(default_factory=FalseMatchFactor)
    false_match_factor_range: dict[str, tuple[float, float]] = Field(default_factory=dict,
                                                                     description="Reported ranges, for "
                                                                                 "sensitivity runs.")
    miss_rate_operating_point: str = ""
    same_demographics_candidate: float = Field(1.0, ge=0, le=1,
                                               description="Chance that a false match returns a person of the "
                                                           "probe's sex and group (else anyone of the district).")
    calibration: Deployment | None = None
    additional_deployments: list[Deployment] = Field(default_factory=list,
                                                     description="Other reported deployments, held out: "
                                                                 "predicted from the fitted rate (validate: "
                                                                 "watchlist_deployments).")

    @model_validator(mode="after")
    def _one_false_match_rate(self) -> IdentificationProfile:
        if (self.false_match_rate is None) == (self.calibration is None):
            raise ValueError("give false_match_rate, or a calibration deployment to derive it from, not both")
        return self

    @property
    def fpir(self) -> float:
        """The per-probe false-match rate for the reference group (men of unaffected groups)."""
        if self.false_match_rate is not None:
            return self.false_match_rate
        assert self.calibration is not None
        return self.implied_fpir(self.calibration)

    def deployment_miss_rate(self, deployment: Deployment) -> float:
        return deployment.miss_rate if deployment.miss_rate is not None else self.miss_rate

    def implied_fpir(self, deployment: Deployment) -> float:
        """The deployment's false alerts per face scanned of someone not on its watchlist (the
        watchlisted faces being those its true alerts imply, at its miss rate)."""
        watchlisted = deployment.true_alert_count / (1 - self.deployment_miss_rate(deployment))
        return deployment.false_alerts / (deployment.faces_scanned - watchlisted)

    @property
    def reference_watchlist(self) -> int | None:
        """The watchlist size the FPIR holds for."""
        return self.calibration.watchlist if self.calibration is not None else self.false_match_rate_watchlist

    def fpir_for_watchlist(self, size: int) -> float:
        """The FPIR of a search of a watchlist of `size` faces, at the profile's threshold (see the
        module's docstring): 0 for an empty watchlist."""
        reference = self.reference_watchlist
        if size <= 0:
            return 0.0
        if reference is None:
            return self.fpir
        return float(-np.expm1(np.log1p(-self.fpir) * size / reference))

    def deployments(self) -> list[tuple[Deployment, bool]]:
        """Each reported deployment, and whether the false-match rate was fitted on it."""
        fitted = [(self.calibration, True)] if self.calibration is not None else []
        return fitted + [(deployment, False) for deployment in self.additional_deployments]

    def false_match_multiplier(self, affected: np.ndarray, female: np.ndarray) -> np.ndarray:
        """The factor on the FPIR of a probe of each person (affected group, woman): the probe's own."""
        factor = self.false_match_factor
        return np.where(affected, factor.affected_groups, 1.0) * np.where(female, factor.female, 1.0)


def profile_names() -> list[str]:
    folder = resources.files(PRESETS_PACKAGE) / "identification"
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


@cache
def load_profile(name: str) -> IdentificationProfile:
    if name not in profile_names():
        raise SchemeError([Problem((), f"no identification profile named '{name}'", suggest(name, profile_names()))],
                          name, "identification profile")
    entry = resources.files(PRESETS_PACKAGE) / "identification" / f"{name}.yaml"
    return IdentificationProfile.model_validate(yaml.safe_load(entry.read_text(encoding="utf-8")))
