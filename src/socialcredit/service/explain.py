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
from ..scheme.guards import INPUT, event_dependencies
from ..scoring import Scores

HOW_TO_APPEAL = ("POST /v1/appeals with {'subject': ..., 'event_ids': [...], 'statement': ...} naming the events you "
                 "contest; a reviewer decides, voided events drop out and the score is recomputed")

# A subject's place on each input list: {name: {member, since, source, kept_by}} (`listings.places`)
Places = dict[str, dict[str, Any]]


def not_decided_here(place: dict[str, Any]) -> str:
    """What an appeal against one's place on another body's list can do here: nothing; who can."""
    keeper = f" ({place['kept_by']})" if place.get("kept_by") else ""
    source = f", on their reference {place['source']!r}" if place.get("source") else ""
    return (f"your place on '{place['list']}'{keeper}, since {place['since']}{source}, is not this scheme's to "
            f"decide: it does not keep that list, so an appeal here cannot take you off it. Contest it with "
            f"whoever keeps the list; once they take you off it, this scheme follows at once")


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

    def record(self, subject: str, scores: Scores, i: int, as_of: float, places: Places | None = None
               ) -> dict[str, Any]:
        """Subject `i` of `scores`, scored at `as_of`: score, tier, lists, their places on the
        scheme's input lists (`places`, from `listings.places`), entitlements, every component's
        points and every feature, and the reasons."""
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
            "input_lists": dict(places or {}),
            "entitlements": {name: bool(allowed[i]) for name, allowed in scores.entitlements.items()},
            "components": {name: float(points[i]) for name, points in scores.components.items()},
            "features": {name: float(values[i]) for name, values in scores.features.items()},
            "reasons": scores.explain(i),
        }

    def entitlement(self, subject: str, action: str, scores: Scores, i: int, as_of: float,
                    contestable: Contestable, places: Places | None = None) -> dict[str, Any]:
        """May subject `i` do `action` at `as_of`, and if not, why and how to appeal (`places`: their
        places on the input lists, from `listings.places`)."""
        allowed = bool(scores.entitlements[action][i])
        answer: dict[str, Any] = {"subject": subject, "action": action, "allowed": allowed,
                                  "as_of": days_to_text(as_of), "scheme": self.scheme.id,
                                  "scheme_version": self.scheme.version}
        if not allowed:
            answer["because"] = because = self.why_denied(scores, i, action, contestable, places or {})
            answer["appeal"] = {"how": HOW_TO_APPEAL,
                                "events_you_can_contest": [e["id"] for e in because["events"]]}
            if "input_lists" in because:  # another body's list: not this scheme's to decide
                answer["appeal"]["not_decided_here"] = [not_decided_here(place) for place in because["input_lists"]]
        return answer

    def why_denied(self, scores: Scores, i: int, action: str, contestable: Contestable,
                   places: Places) -> dict[str, Any]:
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
        # Another body's lists the rule reads (directly, through a list, or through a tier cap) that
        # the subject is on: named, with since when and on whose reference.
        on = [{"list": name, **{k: v for k, v in places[name].items() if k != "member"}}
              for name in self.scheme.input_lists if INPUT + name in kinds and bool(scores.inputs[name][i])
              and name in places]
        if on:
            because["input_lists"] = on
        return because
