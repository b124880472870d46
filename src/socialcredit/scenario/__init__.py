"""What a simulation is given: the scenario (models, loading), the random streams every draw comes
from, and the face identification profiles. Below the population, the simulation's frame and its
phases, which all read it."""

from .load import ScenarioScheme, Schemes, load_scenario, scenario_from_data
from .models import Scenario

__all__ = ["Scenario", "ScenarioScheme", "Schemes", "load_scenario", "scenario_from_data"]
