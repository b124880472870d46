"""Face identification, modelled by its measured error rates: never performed.

A profile gives, for one kind of deployment, the chance that a camera's probe of a person who is
enrolled is missed (`miss_rate`, FNIR: the event is lost) and the chance that it is matched to the
wrong person (`false_match_rate`, FPIR at the operating threshold). The false-match rate is either
given, or derived from one real deployment whose share of false alerts it must reproduce:

    share_false = (1 - b) * fpir / ((1 - b) * fpir + b * (1 - fnir))
    =>  fpir = b * (1 - fnir) * share_false / ((1 - b) * (1 - share_false))

where b is the share of scanned faces that were on the watchlist. A test runs the deployment
through the model and checks that the measured share of false alerts falls within its interval.

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
from ..scheme.models import StrictModel


class Deployment(StrictModel):
    deployment: str = Field(description="Where and when, as reported.")
    faces_scanned: int = Field(gt=0)
    watchlist: int = Field(gt=0)
    alerts: int = Field(ge=0)
    false_alerts: int = Field(ge=0)
    true_alerts: int | None = Field(None, ge=0)
    arrests: int | None = Field(None, ge=0)
    base_rate: float = Field(gt=0, lt=1, description="Share of scanned faces that were on the watchlist.")
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


class FalseMatchFactor(StrictModel):
    """Multipliers of the FPIR of a probe (one-to-many search) by the probe's demographics."""

    affected_groups: float = Field(1.0, ge=1, description="Multiplier for a probe of the groups misidentified "
                                                          "most.")
    female: float = Field(1.0, ge=1, description="Multiplier for a probe of a woman.")


class IdentificationProfile(StrictModel):
    id: str
    title: str
    sources: list[str] = Field(default_factory=list)
    miss_rate: float = Field(ge=0, lt=1, description="FNIR: chance an enrolled person's probe finds no match.")
    false_match_rate: float | None = Field(None, ge=0, lt=1, description="FPIR at the operating threshold.")
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
                                                     description="Other reported deployments the model is "
                                                                 "checked against.")

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

    def implied_fpir(self, deployment: Deployment) -> float:
        """The false-match rate per non-watchlisted face that gives the deployment's false-alert share."""
        b, s = deployment.base_rate, deployment.false_alert_share
        miss = deployment.miss_rate if deployment.miss_rate is not None else self.miss_rate
        return b * (1 - miss) * s / ((1 - b) * (1 - s))

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


def simulate_deployment(profile: IdentificationProfile, deployment: Deployment, rng: np.random.Generator,
                        fpir: float | None = None) -> tuple[int, int]:
    """Run a live-recognition deployment through the model: (alerts, false alerts).

    Each scanned face is on the watchlist with chance `base_rate`; a face on it raises a true
    alert unless missed; a face not on it raises a false alert with chance `fpir` (the profile's)."""
    faces = deployment.faces_scanned
    miss = deployment.miss_rate if deployment.miss_rate is not None else profile.miss_rate
    on_list = rng.binomial(faces, deployment.base_rate)
    true_alerts = rng.binomial(on_list, 1 - miss)
    false_alerts = rng.binomial(faces - on_list, profile.fpir if fpir is None else fpir)
    return int(true_alerts + false_alerts), int(false_alerts)
