"""What a list or an entitlement does to a person: the one place the scenario's `consequences` are
read. An entitlement's denial (or grant) shifts income growth (`income.py`) and multiplies the rates
of acts (`behaviour.py`); a disclosed list is seen by a share of a listed person's ties, who may
shun them (`social.py`) and whom it deters (`behaviour.py`). How many days each person spends so is
tallied in `tallies.py`."""

from __future__ import annotations

from ..scenario.models import ConsequenceSpec, Scenario
from ..scheme import Scheme


def entitlement_effects(scenario: Scenario, scheme: Scheme) -> dict[str, ConsequenceSpec]:
    """The consequences that are entitlements' effects (the rest disclose lists)."""
    return {name: c for name, c in scenario.consequences.items() if name in scheme.entitlements}


def disclosed_lists(scenario: Scenario, scheme: Scheme) -> dict[str, float]:
    """The lists shown in public, each with the share of a listed person's ties who see it (honour
    lists shame no one: they are left out)."""
    return {name: c.disclose for name, c in scenario.consequences.items()
            if c.disclose > 0 and name in scheme.lists and name not in scheme.honour_lists}
