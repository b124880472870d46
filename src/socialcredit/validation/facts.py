"""Documented facts: what the presets' sources say, checked against the scoring core and the model."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from ..runner.run import run_scenario
from ..scenario import identification
from ..scenario.identification import Deployment, IdentificationProfile
from ..scenario.load import scenario_from_data
from ..scheme import Scheme, load_scheme
from ..scoring import EventArrays, Scores, kind_codes, score_events
from .checks import Outcome, Size, mean_interval, rules_outcome

DAY = 20_000.0  # an arbitrary scoring day (days since 1970-01-01)


def scored(scheme: Scheme, events: list[tuple], n: int = 1, as_of: float = DAY) -> Scores:
    """Subjects 0..n-1 scored from (subject, kind, time[, value]) tuples."""
    codes = kind_codes(scheme)
    arrays = EventArrays.build([e[0] for e in events], [codes[e[1]] for e in events], [e[2] for e in events],
                               [e[3] if len(e) > 3 else 1.0 for e in events], n_subjects=n)
    return score_events(scheme, arrays, as_of)


def rongcheng_rules(size: Size, scheme: Scheme | None = None) -> Outcome:
    """Rongcheng: 1000 points and grade A to start, -5 a traffic ticket, +30 a heroic act, AAA from
    1050, drunk driving holds the grade at C without taking points, records count two years."""
    del size
    scheme = scheme or load_scheme("rongcheng")

    def tier(result: Scores, subject: int = 0) -> str:
        return result.tier_names()[subject]

    clean = scored(scheme, [])
    ticket = scored(scheme, [(0, "traffic_violation", DAY - 10)])
    hero = scored(scheme, [(0, "heroic_act", DAY - 1)])
    aaa = scored(scheme, [(0, "heroic_act", DAY - 2), (0, "donation", DAY - 1, 2000.0),
                          (1, "heroic_act", DAY - 2), (1, "donation", DAY - 1, 1900.0)], n=2)
    drunk = scored(scheme, [(0, "heroic_act", DAY - 30), (0, "heroic_act", DAY - 20), (0, "drunk_driving", DAY - 10)])
    old_ticket = scored(scheme, [(0, "traffic_violation", DAY)], as_of=DAY + 731)
    return rules_outcome([
        ("no record: 1000 points, grade A", clean.score[0] == 1000 and tier(clean) == "A"),
        ("a traffic ticket: 995", ticket.score[0] == 995),
        ("a heroic act: 1030", hero.score[0] == 1030),
        ("AAA from 1050", tier(aaa, 0) == "AAA" and tier(aaa, 1) == "AA" and aaa.score.tolist() == [1050, 1049]),
        ("drunk driving: grade C at most, no points taken", drunk.score[0] == 1060 and tier(drunk) == "C"),
        ("records count two years", old_ticket.score[0] == 1000),
    ], "start 1000 (A); ticket -5; heroic act +30; AAA >= 1050; drunk driving caps at C; two years")


def zhima_rules(size: Size, scheme: Scheme | None = None) -> Outcome:
    """Zhima: a 350-950 scale, bands at 550/600/650/700, a user without a record at the floor, and
    the hotel deposit waived from 600 and not below (the scheme's rules scored by the core)."""
    del size
    scheme = scheme or load_scheme("zhima")
    minima = sorted(t.min for t in scheme.tiers)
    empty = scored(scheme, [])
    at = _at_scores(scheme, [600.0, 599.0])
    waived = "hotel_no_deposit" in at.entitlements and at.entitlements["hotel_no_deposit"].tolist() == [True, False]
    return rules_outcome([
        ("scale 350-950", (scheme.scale.min, scheme.scale.max) == (350, 950)),
        ("bands at 550, 600, 650, 700", [m for m in minima if m > scheme.scale.min] == [550, 600, 650, 700]),
        ("no record: near the floor, below the lowest band", bool(empty.score[0] < 550)),
        ("the hotel deposit waived from 600, not at 599", bool(waived)),
    ], "350-950 (Ant Financial); bands 550/600/650/700; deposit-free hotels from 600 (Xinhua 2015)")


def _at_scores(scheme: Scheme, targets: list[float]) -> Scores:
    """Subjects with no record of their own brought to exactly `targets` by their contacts' term, so
    that the entitlements read those scores (Zhima's relationships dimension)."""
    from ..scoring import compute_features, score_features

    features = compute_features(scheme, EventArrays.build([], [], [], n_subjects=len(targets)), DAY)
    own = score_features(scheme, features).pre
    return score_features(scheme, features, network_term=np.asarray(targets) - own)


def fico_rules(size: Size, scheme: Scheme | None = None) -> Outcome:
    """FICO: 300-850; the published bands; at most four reason codes, inquiries a fifth when a key
    factor left out (15 U.S.C. 1681g(f)(1)(C)); a 7-year-old late payment no longer counts."""
    del size
    scheme = scheme or load_scheme("fico")
    # an account on file for over six months, so the file is scored (FICO's minimum criteria)
    bad = [(0, "payment", DAY - 200)] + [(0, "late_payment", DAY - 10 * k, 60) for k in range(5)]
    bad += [(0, "collection", DAY - 100), (0, "collection", DAY - 200), (0, "bankruptcy", DAY - 300)]
    bad += [(0, "inquiry", DAY - 5 * k) for k in range(8)]
    bad += [(0, "account_opened", DAY - 7 * k, 1) for k in range(4)]
    bad += [(0, "balance_report", DAY - 3, 0.95)]
    result = scored(scheme, bad)
    reasons = result.reason_strings()[0].split(";")
    # a file whose inquiries are among its costliest factors: they are not given twice
    costly_inquiries = scored(scheme, [(0, "inquiry", DAY - k) for k in range(6)] +
                              [(0, "payment", DAY - 40), (0, "payment", DAY - 200)]).reason_strings()[0].split(";")
    history = [(0, "payment", DAY - 200), (0, "payment", DAY - 1)]
    older = history + [(0, "late_payment", DAY - 2556, 60)]     # a day over 7 years
    younger = history + [(0, "late_payment", DAY - 2190, 60)]   # 6 years
    clean = scored(scheme, history).score[0]
    return rules_outcome([
        ("scale 300-850", (scheme.scale.min, scheme.scale.max) == (300, 850)),
        ("bands 800/740/670/580/300", [t.min for t in scheme.tiers] == [800, 740, 670, 580, 300]),
        ("four key factors, and inquiries as a fifth when left out of them",
         len(reasons) == 5 and reasons[4] == "inquiries" and "inquiries" not in reasons[:4]),
        ("inquiries among the four are not repeated",
         costly_inquiries.count("inquiries") == 1 and len(costly_inquiries) <= 4),
        ("a late payment 6 years old still costs points", bool(scored(scheme, younger).score[0] < clean)),
        ("a late payment over 7 years old no longer counts", bool(np.isclose(scored(scheme, older).score[0], clean))),
    ], "FICO 300-850; four key factors + inquiries (15 U.S.C. 1681g(f)(9)); FCRA 7-year limit (15 U.S.C. 1681c)")


# What the Supreme People's Court published of its list, as shares of ~1,150 million people aged 16+
# (NBS via Xinhua, 17 Jan 2020), with the uncertainties of examples/shixin-published.yaml (one standard
# deviation, an assumption stated there). Two different counts, kept apart:
# - placed on the list since it began on 2013-10-01, a cumulative count: "more than 14.5 million people
#   have been placed on a credit blacklist ... as of July 9" (Xinhua via Shanghai Daily, 12 Jul 2019);
SHIXIN_EVER_DATE = dt.date(2019, 7, 9)
SHIXIN_EVER_SHARE, SHIXIN_EVER_SD = 14.5 / 1150, 0.00101
# - on the list at a date, a stock: "5.7mn defaulters in early 2020", officially blacklisted according to
#   local courts (Financial Times, 3 Dec 2023, via China Economic Review, 4 Dec 2023), taken as 1 January.
SHIXIN_STOCK_DATE = dt.date(2020, 1, 1)
SHIXIN_STOCK_SHARE, SHIXIN_STOCK_SD = 5.7 / 1150, 0.00074
# Met when the whole interval over seeds lies within 2 uncertainties of the published share (as
# `socialcredit calibrate` says a target is met).
SHIXIN_WITHIN = 2.0
SHIXIN_LIST_START = dt.date(2013, 10, 1)  # the Supreme People's Court's provisions took effect


def shixin_share(size: Size, overrides: dict[str, Any] | None = None, people: int | None = None) -> Outcome:
    """The court list's published counts against the preset's: the share of adults ON the list in
    early 2020 (the stock, 0.50%) and the share ever PLACED on it from October 2013 to 9 July 2019
    (the cumulative count, 1.26%). The preset hides the list's first years in a burn-in, and its
    `ever_listed` counts from day 0; so here its scenario runs from the list's first day with no
    burn-in, to 2020-01-01, and both figures are read from the daily metrics at their dates."""
    import socialcredit

    # a share near 0.5% needs tens of thousands of people for a tight interval
    people = people or max(size.population, 40_000)
    days = (SHIXIN_STOCK_DATE - SHIXIN_LIST_START).days + 1
    settings: dict[str, Any] = {"run.start": SHIXIN_LIST_START, "run.burn_in_days": 0, "run.days": days}
    runs = [socialcredit.simulate("shixin", population=people, seed=seed, **{**settings, **(overrides or {})})
            for seed in range(1, size.seeds + 1)]
    figures = []
    for figure, date, published, sd in (("listed", SHIXIN_STOCK_DATE, SHIXIN_STOCK_SHARE, SHIXIN_STOCK_SD),
                                        ("ever_listed", SHIXIN_EVER_DATE, SHIXIN_EVER_SHARE, SHIXIN_EVER_SD)):
        shares, reached = [], None
        for run in runs:  # the last day on or before the published date (a shortened run: its last day)
            rows = run.metrics[run.metrics["date"] <= np.datetime64(date)]
            row = rows.iloc[-1] if len(rows) else run.metrics.iloc[-1]
            shares.append(float(row[f"{figure}.dishonest_debtor"]))
            reached = row["date"]
        mean, low, high = mean_interval(shares, 0.0, 1.0)
        bounds = (published - SHIXIN_WITHIN * sd, published + SHIXIN_WITHIN * sd)
        # Equivalence, not mere overlap: the whole interval must lie in the range, so that an imprecise
        # measurement does not pass for agreement.
        inside = low is not None and high is not None and bounds[0] <= low and high <= bounds[1]
        figures.append((figure, str(reached)[:10], mean, low, high, bounds, published, inside))
    (_, stock_day, mean, low, high, _, _, _), ever = figures[0], figures[1]
    measured = f"on the list {_share_text(mean, low, high)} on {stock_day}; placed on it since " \
               f"{SHIXIN_LIST_START} {_share_text(*ever[2:5])} by {ever[1]}"
    expected = "; ".join(f"{name} {bounds[0]:.2%}-{bounds[1]:.2%} (published {published:.2%}), the whole interval"
                         for name, (_, _, _, _, _, bounds, published, _) in
                         zip(("on the list", "placed on it"), figures, strict=True))
    failed = [name for name, figure in zip(("on the list", "placed on it"), figures, strict=True) if not figure[7]]
    note = f"run from {SHIXIN_LIST_START} with no burn-in, {days:,} days; {size.seeds} seeds of {people:,} people"
    return Outcome(measured=measured, expected=expected, passed=not failed, value=mean, low=low, high=high,
                   note=note + (f"; not met: {', '.join(failed)}" if failed else ""))


def _share_text(mean: float, low: float | None, high: float | None) -> str:
    return f"{mean:.2%}" + (f" [{low:.2%}, {high:.2%}]" if low is not None and high is not None else "")


# The profiles with reported deployments, and how many people a simulated deployment scans (each
# about once a day, over as many days as its faces scanned need). A deployment with few alerts is
# simulated that many times over (the same deployment repeated: its share is unchanged, its Monte
# Carlo error smaller), so that its runs pooled make at least SIMULATED_ALERTS alerts, up to
# SIMULATED_FACES faces a run.
WATCHLIST_PROFILES = ("uk_trials_2018", "met_2022", "met_2025")
DEPLOYMENT_PEOPLE = 100_000
SIMULATED_ALERTS = 2_000
SIMULATED_FACES = 4_000_000


def watchlisted_share(profile: IdentificationProfile, deployment: Deployment) -> float:
    """The share of the deployment's scanned faces that were of watchlisted people, the one input not
    published: the share at which the alerts the model expects are the published alerts, given
    the profile's rates (0 where its false alerts alone would outnumber them)."""
    fpir = profile.fpir_for_watchlist(deployment.watchlist) * (1 + profile.false_match_factor.female) / 2
    share = (deployment.alerts / deployment.faces_scanned - fpir) / (1 - profile.miss_rate - fpir)
    return float(min(max(share, 0.0), 1.0))


def deployment_repeats(deployment: Deployment, seeds: int) -> int:
    """How many times over one run simulates the deployment (see SIMULATED_ALERTS)."""
    wanted = math.ceil(SIMULATED_ALERTS / max(deployment.alerts * seeds, 1))
    return max(1, min(wanted, SIMULATED_FACES // deployment.faces_scanned))


def deployment_scenario(name: str, deployment: Deployment, seed: int, repeats: int = 1) -> dict[str, Any]:
    """A scenario of watchlist policing sized to a reported deployment, `repeats` times over: its
    faces scanned (each of a population scanned about once a day), its watchlist size, and as many
    watchlisted people as make its published alerts; nothing else happens (no acts, no ties)."""
    profile = identification.load_profile(name)
    faces = deployment.faces_scanned * repeats
    people = min(faces, DEPLOYMENT_PEOPLE)
    days = math.ceil(faces / people)
    watchlist = {"scans_per_person_day": faces / (people * days),
                 "members": {"share": watchlisted_share(profile, deployment)}, "size": deployment.watchlist,
                 "stop_chance": 0.0}
    return {"id": "deployment", "scheme": "shenzhen-cameras", "network": {"mean_degree": 0},
            "population": {"size": people, "groups": {"public": 1.0}, "districts": 1},
            "surveillance": {"cameras": {"observes": ["jaywalking"], "coverage": 1.0, "identification": name,
                                         "watchlist": watchlist}},
            "run": {"days": days, "seed": seed}}


def watchlist_deployments(size: Size, profiles: Sequence[str] = WATCHLIST_PROFILES) -> Outcome:
    """Each profile's false-match rate, fitted on one deployment, predicts the false-alert share of
    its other reported deployments: each run through the simulation's own watchlist policing
    (scenarios sized by `deployment_scenario`, `size.seeds` runs pooled, a deployment with few alerts
    repeated within each run), the share compared with the published count's 95% Wilson interval. A
    deployment the rate was fitted on is reproduced by construction: it is reported, and counts for
    nothing."""
    lines, held_out, predicted = [], 0, 0
    for name in profiles:
        profile = identification.load_profile(name)
        for deployment, fitted in profile.deployments():
            alerts = false = 0
            repeats = deployment_repeats(deployment, size.seeds)
            for seed in range(1, size.seeds + 1):
                run = run_scenario(*scenario_from_data(deployment_scenario(name, deployment, seed, repeats)))
                figure = run.summary["harms"]["watchlist"]["cameras"]
                alerts, false = alerts + figure["alerts"], false + figure["false_alerts"]
            share = false / alerts if alerts else None
            ci = stats.binomtest(deployment.false_alerts, deployment.alerts).proportion_ci(0.95, method="wilson")
            inside = bool(share is not None and ci.low <= share <= ci.high)
            where = deployment.deployment.split("(")[0].strip().rstrip(",")
            times = size.seeds * repeats
            text = (f"{name} / {where}: simulated {_share(share)} of {alerts / times:,.1f} alerts a deployment "
                    f"false ({times:,} simulated), published {deployment.false_alert_share:.1%} "
                    f"[{ci.low:.1%}, {ci.high:.1%}] of {deployment.alerts:,}")
            if fitted:
                lines.append(text + " (the rate was fitted on it: not counted)")
                continue
            held_out += 1
            predicted += inside
            rate, own = profile.fpir_for_watchlist(deployment.watchlist), profile.implied_fpir(deployment)
            lines.append(text + (" (held out: predicted)" if inside else
                                 f" (held out: NOT predicted: the profile's rate, {rate:.3g} false alerts a face "
                                 f"at its {deployment.watchlist:,}-face watchlist, is {_times(rate, own)} the "
                                 f"{own:.3g} this deployment implies)"))
        if not profile.additional_deployments:
            lines.append(f"{name}: no deployment held out, nothing predicted")
    return Outcome(measured=f"{predicted} of {held_out} held-out deployments predicted",
                   expected="every held-out deployment's published false-alert share, within its 95% Wilson "
                            "interval (at least one held out)",
                   passed=held_out > 0 and predicted == held_out, value=float(predicted), note="; ".join(lines))


def _share(share: float | None) -> str:
    return "no alerts, so none" if share is None else f"{share:.1%}"


def _times(rate: float, own: float) -> str:
    if own <= 0:
        return "above"
    return f"{rate / own:.3g}x" if rate >= own else f"1/{own / rate:.3g} of"
