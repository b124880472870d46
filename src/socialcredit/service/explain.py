"""Explanations: what the service says about one subject's scores, as answers (plain data).

Every point has a reason (`record`), and every denial its rule, the lists, tier and components
behind it, the events it rests on and how to contest them (`entitlement`). Nothing here reads the
database: the events behind a denial come through the `contestable` function the caller gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..eventlog import days_to_text
from ..scheme import Scheme
from ..scheme.guards import event_dependencies
from ..scoring import Scores

HOW_TO_APPEAL = ("POST /v1/appeals with {'subject': ..., 'event_ids': [...], 'statement': ...} naming the events you "
                 "contest; a reviewer decides, voided events drop out and the score is recomputed")

# The events of these kinds (a list of kinds) that a denial rests on, oldest first: rows with id,
# kind, time, value, weight, source and status.
Contestable = Callable[[list[str]], Sequence[Any]]


def event_json(e: Any) -> dict[str, Any]:
    """A stored event as answered: an Event, or a row of `store.EVENT_COLUMNS`."""
    return {"id": e.id, "kind": e.kind, "time": days_to_text(e.time), "value": e.value, "weight": e.weight,
            "source": e.source, "status": e.status}


class Explanations:
    def __init__(self, scheme: Scheme):
        self.scheme = scheme
        self.dependencies = event_dependencies(scheme)  # each name of the scheme -> the event kinds it reads

    def record(self, subject: str, scores: Scores, i: int, as_of: float) -> dict[str, Any]:
        """Subject `i` of `scores`, scored at `as_of`: score, tier, lists, entitlements, every
        component's points and every feature, and the reasons."""
        tier = scores.tier_names()[i]
        scored = bool(scores.scored[i])  # an unscored subject has no score, pre or tier
        return {
            "subject": subject, "scheme": self.scheme.id, "scheme_version": self.scheme.version,
            "as_of": days_to_text(as_of), "as_of_days": as_of,
            "score": float(scores.score[i]) if scored else None, "pre": float(scores.pre[i]) if scored else None,
            "tier": str(tier) if scored else None,
            "capped_by": scores.capped_by()[i] or None,
            "scored": scored, "unscored_by": scores.unscored_by()[i].split(";") if not scored else [],
            "lists": {name: bool(member[i]) for name, member in scores.lists.items()},
            "entitlements": {name: bool(allowed[i]) for name, allowed in scores.entitlements.items()},
            "components": {name: float(points[i]) for name, points in scores.components.items()},
            "features": {name: float(values[i]) for name, values in scores.features.items()},
            "reasons": scores.explain(i),
        }

    def entitlement(self, subject: str, action: str, scores: Scores, i: int, as_of: float,
                    contestable: Contestable) -> dict[str, Any]:
        """May subject `i` do `action` at `as_of`, and if not, why and how to appeal."""
        allowed = bool(scores.entitlements[action][i])
        answer: dict[str, Any] = {"subject": subject, "action": action, "allowed": allowed,
                                  "as_of": days_to_text(as_of), "scheme": self.scheme.id,
                                  "scheme_version": self.scheme.version}
        if not allowed:
            answer["because"] = self.why_denied(scores, i, action, contestable)
            answer["appeal"] = {"how": HOW_TO_APPEAL,
                                "events_you_can_contest": [e["id"] for e in answer["because"]["events"]]}
        return answer

    def why_denied(self, scores: Scores, i: int, action: str, contestable: Contestable) -> dict[str, Any]:
        expression = self.scheme.rules.entitlements[action]
        names = set(expression.names)
        # follow lists to what they read, so the reasons reach the components and events
        for name in self.scheme.rules.list_order[::-1]:
            if name in names and scores.lists[name][i]:
                names |= set(self.scheme.rules.lists[name].names)
        lists = [name for name in self.scheme.lists if name in names and bool(scores.lists[name][i])]
        kinds: set[str] = set()
        for name in names:
            kinds |= self.dependencies.get(name, set())
        scored = bool(scores.scored[i])
        because: dict[str, Any] = {
            "rule": expression.source, "lists": lists, "tier": str(scores.tier_names()[i]) if scored else None,
            "score": float(scores.score[i]) if scored else None,
            "components": [r for r in scores.explain(i) if "component" in r],
            "events": [event_json(e) for e in contestable(sorted(kinds))],
        }
        # Where the rule (or a list it follows) reads whether one is scored, or what the unscored
        # lack (score, pre, tier), the unscored conditions that hold decided it.
        if not scored and names & {"scored", "score", "pre", "tier"}:
            because["unscored"] = [r for r in scores.explain(i) if "unscored" in r]
        # Where the rule (or a list it follows) reads the tier, a cap that held the tier down decided it.
        cap = scores.explain_cap(i) if "tier" in names else None
        if cap is not None:
            because["tier_cap"] = cap
        return because
