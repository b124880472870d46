"""Face identification, modelled by its measured error rates: never performed.

A profile gives, for one kind of deployment, the chance that a camera's probe of a person who is
enrolled is missed (`miss_rate`, FNIR: the event is lost) and the chance that it is matched to the
wrong person (`false_match_rate`, FPIR at the operating threshold), with multipliers for the groups
and the sex that algorithms misidentify more often (NISTIR 8280). The false-match rate is either
given, or derived from one real deployment whose share of false alerts it must reproduce:

    share_false = (1 - b) * fpir / ((1 - b) * fpir + b * (1 - fnir))
    =>  fpir = b * (1 - fnir) * share_false / ((1 - b) * (1 - share_false))

where b is the share of scanned faces that were on the watchlist. A test runs the deployment
through the model and checks that the measured share of false alerts falls within its interval.

In the simulation every adult is enrolled (national ID photographs), so a camera's probe of an
act is always a mated search: it is attributed to the actor, lost (a miss), or attributed to
another person of the same district (a false match), drawn with the group-specific weights.
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
    affected_groups: float = Field(1.0, ge=1, description="Multiplier for the groups misidentified most.")
    female: float = Field(1.0, ge=1, description="Multiplier for women.")


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
