"""The checks `socialcredit validate` runs, in order, and what it writes."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from . import agreement, facts, mechanisms
from .checks import Check, Outcome, Size

CHECKS: tuple[Check, ...] = (
    Check("rongcheng_rules", "Rongcheng's points and grades are as documented",
          "Foreign Policy (3 Apr 2018); SCMP (2019); Rongcheng credit rules, via presets/rongcheng.yaml",
          "scores and grades of documented cases", facts.rongcheng_rules),
    Check("zhima_range", "Zhima's scale, bands and deposit-free hotels from 600 are as published",
          "Ant Financial; Xinhua (2015), via presets/zhima.yaml", "scale, bands, a clean record's score, the 600 "
          "threshold scored by the core", facts.zhima_rules),
    Check("fico_rules", "FICO's range, bands and reason-code rules are as published",
          "myFICO; 15 U.S.C. 1681c, 1681g(f), via presets/fico.yaml", "scale, bands, reasons, the 7-year limit",
          facts.fico_rules),
    Check("shixin_share_listed", "The court list's published counts: 0.50% of adults on it in early 2020, "
          "1.26% placed on it since October 2013 by July 2019",
          "on the list: 5.7 million in early 2020 (Financial Times, 3 Dec 2023, via China Economic Review); "
          "placed on it: more than 14.5 million by 9 Jul 2019 (Shanghai Daily, 12 Jul 2019); NBS: ~1,150 "
          "million aged 16+; via examples/shixin-published.yaml",
          "share of adults on the list on 2020-01-01 and share ever placed on it from 2013-10-01 to 2019-07-09, "
          "the preset run from the list's first day", facts.shixin_share),
    Check("watchlist_deployments", "A face-identification profile's false-match rate, fitted on one reported "
          "deployment, predicts the false-alert share of the others",
          "presets/identification: Met Oxford Circus 16 Jul 2022 -> 28 Jan 2022 (Daily Mail via Big Brother "
          "Watch, 19 Jul 2022; MPS post-deployment review via Computer Weekly); South Wales 2017 (Metro, 5 May "
          "2018) and Met 2024-25 (MPS report, 31 Oct 2025): fitted, nothing at their setting to predict",
          "the simulation's watchlist policing sized to each held-out deployment at its calibration's setting "
          "(faces scanned, watchlist, alerts): false-alert share against the published share's 95% Wilson "
          "interval",
          facts.watchlist_deployments),
    Check("deterrence_daily", "Deterrence lowers a penalised act (Zhima overdue payments, rescored daily) by "
          "the share the run's chilling figure says",
          "the model's stated mechanism (README: Behaviour)", "overdue payments a person-year, with - without "
          "deterrence", mechanisms.deterrence_daily),
    Check("deterrence_monthly", "Deterrence lowers a penalised act when the scheme rescores monthly (Zhima), by "
          "the share the run's chilling figure says",
          "the model's stated mechanism (README: Behaviour)", "overdue payments a person-year, with - without "
          "deterrence", mechanisms.deterrence_monthly),
    Check("shunning_isolates", "Shunning the publicly listed isolates them (default scenario)",
          "the model's stated mechanism (README: Social response)", "mean ties of the listed at the end, with - "
          "without shunning", mechanisms.shunning_isolates),
    Check("sanctions_lower_income", "Sanctions lower income by what the scenario says a denial costs (default: "
          "a flight ban cuts income growth 5 points a year)",
          "the model's stated mechanism (README: Income)", "mean log income growth, with - without sanctions",
          mechanisms.sanctions_lower_income),
    Check("misidentification_by_group", "False matches fall on groups as the identification profile says, and no "
          "more (each differential applied once)", "NISTIR 8280 via presets/identification/frvt_2019.yaml",
          "the minority's share of falsely matched probes and of the people blamed, against the model's "
          "expectation", mechanisms.misidentification_by_group),
    Check("simulate_score_agree", "simulate and score give the same scores, bit for bit",
          "README: the three jobs share one core", "fico: final scores, tiers, lists, entitlements",
          agreement.simulate_and_score_agree),
    Check("simulate_serve_agree", "simulate and serve give the same records, bit for bit",
          "README: the three jobs share one core", "fico: a sample of subjects' records after ingesting a "
          "simulation's events", agreement.simulate_and_serve_agree),
    Check("threads_deterministic", "The same scenario and seed give identical results with 1 and 2 threads",
          "README: determinism", "people.parquet and metrics.parquet", agreement.same_results_whatever_the_threads),
)


@dataclass(frozen=True)
class Verdict:
    check: Check
    outcome: Outcome
    seconds: float


def run_checks(size: Size, only: Sequence[str] = (), on_check: Callable[[Check], None] | None = None,
               on_verdict: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """Run the checks (those named in `only`, else all), one after another."""
    unknown = sorted(set(only) - {check.id for check in CHECKS})
    if unknown:
        raise ValueError(f"unknown check {', '.join(unknown)}; the checks are: "
                         f"{', '.join(check.id for check in CHECKS)}")
    verdicts = []
    for check in CHECKS:
        if only and check.id not in only:
            continue
        if on_check is not None:
            on_check(check)
        started = time.perf_counter()
        try:
            outcome = check.run(size)
        except Exception as error:  # a check that cannot run is a failed check, and the others still run
            outcome = Outcome(measured="could not be measured", expected="a measurement", passed=False,
                              note=f"{type(error).__name__}: {error}")
        verdict = Verdict(check, outcome, time.perf_counter() - started)
        verdicts.append(verdict)
        if on_verdict is not None:
            on_verdict(verdict)
    return verdicts


COLUMNS = ("check", "claim", "source", "measures", "measured", "expected", "passed", "value", "low", "high",
           "note", "seconds")


def rows(verdicts: Sequence[Verdict]) -> list[dict[str, object]]:
    return [{"check": v.check.id, "claim": v.check.claim, "source": v.check.source, "measures": v.check.measures,
             "measured": v.outcome.measured, "expected": v.outcome.expected,
             "passed": "pass" if v.outcome.passed else "fail", "value": v.outcome.value, "low": v.outcome.low,
             "high": v.outcome.high, "note": v.outcome.note, "seconds": round(v.seconds, 1)} for v in verdicts]


def write_validation(verdicts: Sequence[Verdict], size: Size, folder: Path) -> None:
    """validation.csv and validation.html (a page of the report) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    table = rows(verdicts)
    with (folder / "validation.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    environment = Environment(loader=PackageLoader("socialcredit", "templates"),
                              autoescape=select_autoescape(["html"]))
    html = environment.get_template("validation.html").render(rows=table, size=size,
                                                              passed=sum(v.outcome.passed for v in verdicts))
    (folder / "validation.html").write_text(html, encoding="utf-8")
