"""What a list or an entitlement does to a person: the one place the scenario's `consequences` are
read. An entitlement's denial (or grant) shifts income growth (`income.py`) and multiplies the rates
of acts (`behaviour.py`); a disclosed list is seen by a share of a listed person's ties, who may
shun them (`social.py`) and whom it deters (`behaviour.py`). How many days each person spends so is
tallied in `tallies.py`. With several schemes, every scheme's lists and entitlements are read, by
their qualified names (`court.blacklist`)."""

from __future__ import annotations

from ..scenario.models import ConsequenceSpec
from ..sim.model import Sim
from ..sim.schemes import SchemeState


def entitlement_effects(sim: Sim) -> dict[str, tuple[SchemeState, str, ConsequenceSpec]]:
    """The consequences that are entitlements' effects (the rest disclose lists), by qualified name,
    in the scenario's order: (the scheme, the entitlement's own name, the consequence)."""
    owners = {state.qualify(name): (state, name) for state in sim.schemes for name in state.scheme.entitlements}
    return {name: (*owners[name], c) for name, c in sim.scenario.consequences.items() if name in owners}


def disclosed_lists(sim: Sim) -> dict[str, tuple[SchemeState, str, float]]:
    """The lists shown in public, by qualified name, each with the share of a listed person's ties
    who see it: (the scheme, the list's own name, the share). Honour lists shame no one: they are
    left out."""
    owners = {state.qualify(name): (state, name) for state in sim.schemes for name in state.scheme.lists
              if name not in state.scheme.honour_lists}
    return {name: (*owners[name], c.disclose) for name, c in sim.scenario.consequences.items()
            if c.disclose > 0 and name in owners}
