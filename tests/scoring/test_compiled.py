"""The compiled rules give what NumPy gives, to the bit, for every preset scheme and for rules
that exercise every part of the expression language."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.scheme import load_scheme
from socialcredit.scheme.loader import load_scheme_text, preset_names
from socialcredit.scoring.compiled import compile_rules, rules_source
from socialcredit.scoring.core import score_slices, scoring_features
from socialcredit.scoring.features import safe_ratio
from socialcredit.scoring.graph import Relations

EXPRESSIONS = """
id: exprs
title: every part of the expression language (test)
scale: {min: -50, max: 150, base: 40}
events:
  a: {category: financial}
  b: {category: financial}
features:
  na: {count: a, window_days: 30}
  sb: {sum: b}
  r: {ratio: [na, sb]}
  m: {mean: b, default: 2.5}
  since: {days_since: a, default: 99}
components:
  binned: {feature: r, bins: [{upto: -1, points: -7.5}, {upto: 0, points: 0}, {upto: 0.25, points: 3}, {points: 9}]}
  linear: {feature: sb, per_unit: -0.75, min: -30, max: 12}
  free: {feature: m, per_unit: 2}
  low: {feature: since, per_unit: -0.5, min: -10}
network: {weight: 0.35}
tiers:
  - {name: top, min: 120}
  - {name: mid, min: 40}
  - {name: low, min: -50}
tier_caps:
  - {when: "na >= 3 and not (sb > 1)", at_most: mid}
  - {when: "-linear / (free - 4) > 2", at_most: low}
lists:
  watch: "tier <= 'mid' or na / sb >= 0.5"
  both: "watch and (m != 2.5 or +na)"
  odd: "1 < na <= 3 < sb + 1 and not watch == True"
  plain: "na * 2 - 2 + score * 0"
entitlements:
  act: {allow: "not watch", context: financial}
  near: {allow: "tier == 'top' or tier != 'low' and -score < -60", context: financial}
  sum: {allow: "both + odd * 2 - 1", context: financial}
"""


# The same rules where some subjects are unscored: their pre, score and tier read as NaN.
UNSCORED = (EXPRESSIONS.replace("id: exprs", "id: exprs_unscored")
            .replace('  plain: "na * 2 - 2 + score * 0"\n',
                     '  plain: "na * 2 - 2 + score * 0"\n  gone: "not scored or pre < 0"\n')
            .replace('  sum: {allow: "both + odd * 2 - 1", context: financial}\n',
                     '  sum: {allow: "both + odd * 2 - 1", context: financial}\n'
                     '  open: {allow: "scored and tier >= \'mid\' or not (score < 45) or tier != \'top\'", '
                     'context: financial}\n'
                     '  raw: {allow: "score + scored * 2", context: financial}\n')
            + """unscored:
  - {when: "na < 1 and sb <= 0", reason: thin}
  - {when: "since > 50 or m != m", reason: stale}
""")


def schemes():
    presets = [load_scheme(name) for name in preset_names("scheme")]
    return [*presets, load_scheme_text(EXPRESSIONS), load_scheme_text(UNSCORED)]


def features_for(scheme, n, rng):
    """Random features with the awkward values in: zeros, bin edges, NaN, infinities, -0.0."""
    features = {}
    for name in scoring_features(scheme):
        if scheme.features[name].type == "ratio":
            continue
        values = rng.choice([0.0, -0.0, 1.0, 2.0, 3.0, 0.25, -1.0, 1e-300], n) * rng.integers(0, 2, n)
        values = np.where(rng.random(n) < 0.5, rng.normal(0, 4, n) * 10.0 ** rng.integers(-2, 3, n), values)
        for component in scheme.components.values():
            for bin_ in component.bins or []:
                if bin_.upto is not None:
                    values[rng.random(n) < 0.02] = bin_.upto
        special = rng.random(n)
        values[special < 0.01] = np.nan
        values[(special > 0.01) & (special < 0.015)] = np.inf
        values[(special > 0.015) & (special < 0.02)] = -np.inf
        features[name] = values
    return features


def with_ratios(scheme, features):
    """The inputs and the ratios among the features scoring reads, as the feature state gives them."""
    features = dict(features)
    for name in scheme.rules.feature_order:  # ratios as the feature state gives them to NumPy's rules
        ratio = scheme.features[name].ratio
        if ratio is not None and name in scoring_features(scheme):
            features[name] = safe_ratio(features[ratio[0]], features[ratio[1]])
    return features


def assert_same(made, compiled):
    assert (made.unscored is None) == (compiled.unscored is None)
    if made.unscored is not None:
        np.testing.assert_array_equal(made.unscored, compiled.unscored, err_msg="unscored")
        assert made.unscored.dtype == compiled.unscored.dtype == np.uint16
    for field in ("pre", "network_term", "score", "tier", "tier_cap"):
        a, b = getattr(made, field), getattr(compiled, field)
        np.testing.assert_array_equal(a, b, err_msg=field)
        assert a.dtype == b.dtype, field
        if a.dtype.kind == "f":  # -0.0 and 0.0 too (a NaN's sign means nothing)
            number = ~np.isnan(a)
            np.testing.assert_array_equal(np.signbit(a[number]), np.signbit(b[number]), err_msg=field)
    for kind in ("lists", "entitlements"):
        assert list(getattr(made, kind)) == list(getattr(compiled, kind))
        for name, values in getattr(made, kind).items():
            np.testing.assert_array_equal(values, getattr(compiled, kind)[name], err_msg=f"{kind}.{name}")


@pytest.mark.parametrize("scheme", schemes(), ids=lambda s: s.id)
def test_compiled_rules_give_numpys_outcomes_bit_for_bit(scheme, monkeypatch, tmp_path):
    monkeypatch.setenv("SOCIALCREDIT_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(11)
    n = 20_000
    inputs = features_for(scheme, n, rng)
    rules = compile_rules(scheme)
    assert set(rules.inputs) == {name for name in scoring_features(scheme) if scheme.features[name].type != "ratio"}
    features = with_ratios(scheme, inputs)
    finite = with_ratios(scheme, {name: np.nan_to_num(values, posinf=1e6, neginf=-1e6)
                                  for name, values in inputs.items()})
    relations = Relations.from_pairs(rng.integers(0, n, 4 * n), rng.integers(0, n, 4 * n), n)
    # neighbour sums take finite values only: the term from relations on finite features
    for given, kwargs in ((features, {}), (finite, {"relations": relations}),
                          (features, {"network_term": rng.normal(0, 30, n)})):
        features_of = lambda part, given=given: {name: values[part] for name, values in given.items()}  # noqa: E731
        made = score_slices(scheme, features_of, n, size=6_000, **kwargs)
        compiled = score_slices(scheme, features_of, n, size=6_000, compiled_rules=rules, **kwargs)
        assert_same(made, compiled)
    # the awkward values were there: NaN pre somewhere, and someone in each list and outside it
    if scheme.id == "exprs":
        assert np.isnan(made.pre).any() and (made.tier_cap >= 0).any()
        for name, values in (*made.lists.items(), *made.entitlements.items()):
            assert values.any() and not values.all(), name


def test_names_that_end_like_the_generated_arrays_do_not_clash(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALCREDIT_CACHE_DIR", str(tmp_path))
    scheme = load_scheme_text("""
id: clash
title: names ending in _in and _out (test)
scale: {min: 0, max: 100, base: 50}
events: {a: {category: financial}}
features:
  late: {count: a}
  late_in: {count: a, window_days: 10}
components: {c: {feature: late_in, per_unit: -1}, c_in: {feature: late, per_unit: 2}}
lists: {flag_out: "late > 1", flag: "late_in > 0"}
entitlements: {flag_in: {allow: "not flag_out", context: financial}}
""")
    n = 5000
    rng = np.random.default_rng(2)
    features = {"late": rng.integers(0, 4, n).astype(float), "late_in": rng.integers(0, 3, n).astype(float)}
    made = score_slices(scheme, lambda part: features, n, size=n)
    compiled = score_slices(scheme, lambda part: features, n, size=n, compiled_rules=compile_rules(scheme))
    assert_same(made, compiled)


def test_generated_source_carries_names_and_numbers_only(tmp_path, monkeypatch):
    """Names become v_<name> identifiers, tier names become ranks: no text of the scheme's own. The
    source is kept in the cache directory, named by its hash, and loaded once a process."""
    from socialcredit.scoring import compiled

    monkeypatch.setenv("SOCIALCREDIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiled, "_LOADED", {})  # as in a fresh process
    scheme = load_scheme_text(EXPRESSIONS)
    source, inputs = rules_source(scheme)
    assert inputs == ("m", "na", "sb", "since")
    assert "'mid'" not in source and "'top'" not in source and "v_watch" in source
    rules = compile_rules(scheme)
    assert [p.name for p in (tmp_path / "rules").glob("rules_*.py")] == [rules.module.__file__.split("/")[-1]]
    assert compile_rules(scheme).module is rules.module  # loaded once a process


def test_the_cache_falls_back_to_a_directory_of_the_users_own(tmp_path, monkeypatch):
    """Machine code is loaded from the cache: where no cache directory can be made, a directory in
    the temporary one that only the user may write, never another user's."""
    import os
    import tempfile

    from socialcredit.scoring.compiled import _cache_directory

    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.delenv("SOCIALCREDIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    chosen = _cache_directory()
    assert chosen == tmp_path / f"socialcredit-{os.getuid()}" / "rules"
    assert (chosen.parent.stat().st_mode & 0o777) == 0o700
