"""What the portal says, in words a person reads once: appeal outcomes, event statuses, reads of
one's file, and a denial's reasons. The service's statuses are the API's words and may change; the
portal says them through the mappings here only."""

from __future__ import annotations

from typing import Any

# An appeal's status -> what it means for the person who filed it.
APPEAL_OUTCOMES = {
    "pending": "Waiting for a reviewer",
    "granted": "Granted: the contested events were removed from the record and the score recomputed",
    "rejected": "Rejected: the contested events stay on the record",
}
# An appeal's status, in a word (the tabs of the appeals page).
APPEAL_STATUS_NAMES = {"pending": "Waiting", "granted": "Granted", "rejected": "Rejected"}
# A reviewer's decision (the API's `decision`) -> the button that makes it.
DECISIONS = {
    "grant": "Grant: remove these events from the record",
    "reject": "Reject: keep these events on the record",
}
# A stored event's status -> whether it counts.
EVENT_STATUS = {
    "active": "Counts",
    "voided": "Removed after an appeal: does not count",
}
# A read-log action -> what the reader did.
READS = {
    "read_record": "read the record",
    "entitlement_check": "checked an entitlement",
    "read_events": "read the events",
    "read_history": "read the score history",
    "export": "exported everything held",
}
ROLE_NAMES = {"admin": "an administrator", "operator": "an operator", "reviewer": "a reviewer",
              "auditor": "an auditor", "supplier": "a list's supplier", "subject": "the subject's own key"}


def appeal_outcome(status: str) -> str:
    return APPEAL_OUTCOMES.get(status, status)


def event_status(status: str) -> str:
    return EVENT_STATUS.get(status, status)


def reader(actor: str, me: str) -> str:
    """Who read, from the audit log's actor name ('role:key id')."""
    if actor == me:
        return "you (this key)"
    role, _, key_id = actor.partition(":")
    return f"{ROLE_NAMES.get(role, role)} (key {key_id})"


def what_was_read(action: str, detail: dict[str, Any] | None) -> str:
    said = READS.get(action, action)
    detail = detail or {}
    if action == "entitlement_check" and "action" in detail:
        verdict = "allowed" if detail.get("allowed") else "denied"
        return f"checked whether '{detail['action']}' is allowed ({verdict})"
    return said


def points(value: float) -> str:
    """Points with their sign, as a person reads a change: +20, -150, 0."""
    return f"{value:+,.0f}" if value else "0"


def component_reason(reason: dict[str, Any]) -> str:
    """One component's reason (`Scores.explain`) in words."""
    feature = reason.get("feature")
    because = f", because {feature} is {number(reason['value'])}" if feature is not None and "value" in reason else ""
    lost = reason.get("points_lost")
    short = f" ({lost:,.0f} points short of the most it gives)" if lost else ""
    return f"{reason['component']}: {points(reason['points'])} points{because}{short}"


def number(value: float) -> str:
    """A feature's value as a person reads it: at most two decimals (30.28 days, not 30.2829)."""
    return f"{round(value, 2):,g}"


def when(moment: str | None) -> str:
    """A date, or a date and time to the minute, in UTC ('2024-10-04', '2026-12-06 06:47 UTC'); the
    service's days (midnight) as dates."""
    if not moment:
        return ""
    day, _, clock = moment.replace("T", " ").partition(" ")
    clock = clock[:5]
    return day if not clock or clock == "00:00" else f"{day} {clock} UTC"


def values_read(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} is {number(value)}" for name, value in values.items())


def cap_reason(cap: dict[str, Any]) -> str:
    """A tier cap that held the tier down (`Scores.explain_cap`), in words."""
    return (f"your tier is held at {cap['at_most']} at most while {cap['when']} ({values_read(cap['values'])}); "
            f"your score alone would give {cap['tier_by_score']} (cap '{cap['tier_cap']}')")


def unscored_reason(reason: dict[str, Any]) -> str:
    """An unscored condition that holds (`Scores.explain_unscored`), in words."""
    return (f"there is no score while {reason['when']} ({values_read(reason['values'])}; "
            f"condition '{reason['unscored']}')")


def not_decided_here(said: str, own: bool) -> str:
    """What the service says of an appeal against a place on another body's list (written to the
    subject: "your place on ..."), as the page says it to whoever reads it."""
    text = said[0].upper() + said[1:]
    return text if own else text.replace("Your place", "Their place", 1).replace(" you ", " them ")
