"""Experiment statistics against independent references: scipy, numerical
integration, hand-worked formulas and simulations with fixed seeds."""

import math
from dataclasses import astuple

import numpy as np
import pytest
from scipy import integrate, stats

from merchandising.experiments.stats import (
    EXACT_MAX_TERMS,
    Interval,
    RateCounts,
    bootstrap_comparison,
    cuped_adjust,
    days_needed,
    decision_text,
    expected_loss,
    probability_to_beat,
    relative_lift,
    sample_ratio_mismatch,
    sample_size_per_variant,
    thompson_shares,
    welch_comparison,
    welch_moments_comparison,
    cuped_sums_adjust,
    CupedSums,
    means_expected_loss,
    Moments,
)

Z_975 = stats.norm.ppf(0.975)


def _integrated_probability_to_beat(control: RateCounts, variant: RateCounts) -> float:
    """P(p_v > p_c) = integral of f_v(x) F_c(x) dx, over where either posterior has mass."""
    beta_c, beta_v = stats.beta(*control.posterior), stats.beta(*variant.posterior)
    low = min(beta_c.ppf(1e-13), beta_v.ppf(1e-13))
    high = max(beta_c.isf(1e-13), beta_v.isf(1e-13))
    value, _ = integrate.quad(
        lambda x: beta_v.pdf(x) * beta_c.cdf(x), low, high, limit=200, epsabs=1e-12
    )
    return value


def _revenue(rng: np.random.Generator, *, visitors: int, buy_rate: float, sigma: float = 1.2):
    """Revenue per visitor: most buy nothing, buyers' orders are lognormal (heavy right tail)."""
    return rng.lognormal(3.0, sigma, visitors) * (rng.random(visitors) < buy_rate)


# Rates: probability to beat, expected loss, lift


@pytest.mark.parametrize(
    ("control", "variant"),
    [
        (RateCounts(0, 0), RateCounts(0, 0)),
        (RateCounts(0, 10), RateCounts(3, 10)),
        (RateCounts(120, 1000), RateCounts(140, 1000)),
        (RateCounts(45, 900), RateCounts(30, 400)),
        (RateCounts(5_000, 50_000), RateCounts(5_150, 50_000)),
    ],
)
def test_probability_to_beat_matches_numerical_integration(control, variant):
    exact = probability_to_beat(control, variant, method="exact")

    assert exact == pytest.approx(_integrated_probability_to_beat(control, variant), abs=1e-8)


def test_monte_carlo_probability_agrees_with_the_exact_sum():
    control, variant = RateCounts(120, 1000), RateCounts(140, 1000)
    draws = 1_000_000

    exact = probability_to_beat(control, variant, method="exact")
    sampled = probability_to_beat(control, variant, method="monte_carlo", draws=draws, rng=7)

    assert abs(sampled - exact) < 4 * math.sqrt(exact * (1 - exact) / draws)


def test_probability_to_beat_is_complementary_and_even_for_equal_arms():
    control, variant = RateCounts(31, 700), RateCounts(52, 1100)

    assert probability_to_beat(control, variant) + probability_to_beat(
        variant, control
    ) == pytest.approx(1.0, abs=1e-12)
    assert probability_to_beat(control, control) == pytest.approx(0.5, abs=1e-12)


def test_auto_falls_back_to_monte_carlo_past_the_exact_limit():
    control = RateCounts(EXACT_MAX_TERMS + 10_000, 10_000_000)
    variant = RateCounts(EXACT_MAX_TERMS + 10_800, 10_000_000)

    auto = probability_to_beat(control, variant, rng=3)

    assert auto == probability_to_beat(control, variant, method="monte_carlo", rng=3)
    # Posteriors this large are normal to many digits.
    pc, pv = control.posterior_mean, variant.posterior_mean
    se = math.sqrt(pc * (1 - pc) / control.trials + pv * (1 - pv) / variant.trials)
    assert auto == pytest.approx(stats.norm.cdf((pv - pc) / se), abs=0.01)


def test_expected_loss_agrees_with_monte_carlo():
    control, variant = RateCounts(120, 1000), RateCounts(110, 1000)

    exact = expected_loss(control, variant, method="exact")
    sampled = expected_loss(control, variant, method="monte_carlo", draws=1_000_000, rng=11)

    assert exact.absolute == pytest.approx(sampled.absolute, rel=0.01)
    assert exact.relative == pytest.approx(exact.absolute / control.posterior_mean)


def test_losses_of_shipping_and_of_keeping_differ_by_the_difference_of_means():
    # E[max(d, 0)] - E[max(-d, 0)] = E[d] for d = p_c - p_v.
    control, variant = RateCounts(80, 2000), RateCounts(95, 2100)

    shipping = expected_loss(control, variant).absolute
    keeping = expected_loss(variant, control).absolute

    assert shipping - keeping == pytest.approx(
        control.posterior_mean - variant.posterior_mean, abs=1e-12
    )


def test_expected_loss_vanishes_for_a_clear_winner_and_is_the_gap_for_a_clear_loser():
    control, better = RateCounts(1000, 10_000), RateCounts(1300, 10_000)

    assert expected_loss(control, better).absolute < 1e-9
    assert expected_loss(better, control).absolute == pytest.approx(
        better.posterior_mean - control.posterior_mean, rel=1e-6
    )


def test_relative_lift_interval_matches_the_delta_method_on_large_counts():
    control, variant = RateCounts(4_000, 40_000), RateCounts(4_400, 40_000)

    lift = relative_lift(control, variant, draws=400_000, rng=5)

    pc, pv = 0.1, 0.11
    se_log = math.sqrt((1 - pc) / (4_000) + (1 - pv) / (4_400))
    assert lift.estimate == pytest.approx(pv / pc - 1, abs=1e-3)
    assert lift.low == pytest.approx(math.exp(math.log(pv / pc) - Z_975 * se_log) - 1, abs=2e-3)
    assert lift.high == pytest.approx(math.exp(math.log(pv / pc) + Z_975 * se_log) - 1, abs=2e-3)


def test_relative_lift_stays_finite_when_control_has_no_successes_yet():
    lift = relative_lift(RateCounts(0, 50), RateCounts(2, 50))

    assert -1 < lift.low < lift.estimate < lift.high < math.inf


def test_sampling_is_reproducible_from_a_seed_or_a_generator():
    control, variant = RateCounts(30, 300), RateCounts(36, 300)

    first = relative_lift(control, variant, rng=42)

    assert relative_lift(control, variant, rng=42) == first
    assert relative_lift(control, variant, rng=np.random.default_rng(42)) == first
    assert relative_lift(control, variant, rng=43) != first


@pytest.mark.parametrize(("successes", "trials"), [(11, 10), (-1, 10), (2.5, 10)])
def test_rate_counts_reject_impossible_counts(successes, trials):
    with pytest.raises((ValueError, TypeError)):
        RateCounts(successes, trials)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        probability_to_beat(RateCounts(1, 2), RateCounts(1, 2), method="guess")


# Rates: calibration by simulation


def _simulated_probabilities(*, rate_c, rate_v, visitors, runs, seed):
    rng = np.random.default_rng(seed)
    successes_c = rng.binomial(visitors, rate_c, size=runs)
    successes_v = rng.binomial(visitors, rate_v, size=runs)
    return np.array(
        [
            probability_to_beat(RateCounts(int(c), visitors), RateCounts(int(v), visitors))
            for c, v in zip(successes_c, successes_v, strict=True)
        ]
    )


def test_aa_experiments_rarely_look_like_wins():
    probabilities = _simulated_probabilities(
        rate_c=0.05, rate_v=0.05, visitors=5_000, runs=200, seed=2024
    )

    false_wins = np.mean(probabilities > 0.95)
    assert 0.01 <= false_wins <= 0.08
    # With no true difference the probability to beat is close to uniform.
    assert stats.kstest(probabilities, "uniform").pvalue > 0.01


def test_predicted_sample_size_detects_the_effect_it_was_sized_for():
    visitors = sample_size_per_variant(baseline_rate=0.1, relative_mde=0.1)

    probabilities = _simulated_probabilities(
        rate_c=0.1, rate_v=0.11, visitors=visitors, runs=200, seed=99
    )

    assert np.mean(probabilities > 0.95) >= 0.8
    # 0.975 is the one-sided bar of a two-sided 0.05 test: power there is the 0.8 planned.
    assert 0.7 <= np.mean(probabilities > 0.975) <= 0.9


# Revenue per visitor


def test_welch_comparison_matches_scipy_welch_t_test():
    rng = np.random.default_rng(8)
    control = _revenue(rng, visitors=3_000, buy_rate=0.08)
    variant = _revenue(rng, visitors=3_400, buy_rate=0.09)

    result = welch_comparison(control, variant)

    reference = stats.ttest_ind(variant, control, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert result.difference.estimate == pytest.approx(variant.mean() - control.mean())
    assert result.difference.low == pytest.approx(interval.low)
    assert result.difference.high == pytest.approx(interval.high)
    greater = stats.ttest_ind(variant, control, equal_var=False, alternative="greater")
    assert result.probability_to_beat == pytest.approx(1 - greater.pvalue)
    assert result.lift.estimate == pytest.approx(variant.mean() / control.mean() - 1)


def test_welch_from_sums_as_a_database_keeps_them_equals_welch_from_the_values():
    rng = np.random.default_rng(9)
    control, variant = _revenue(rng, visitors=2_000, buy_rate=0.08), _revenue(rng, visitors=2_100, buy_rate=0.1)

    def summed(values):
        return Moments.from_sums(count=values.size, total=float(values.sum()), squares=float((values**2).sum()))

    def flat(comparison):
        return [comparison.control_mean, comparison.variant_mean, *astuple(comparison.difference), *astuple(comparison.lift),
                comparison.probability_to_beat]

    assert flat(welch_moments_comparison(summed(control), summed(variant))) == pytest.approx(flat(welch_comparison(control, variant)))
    with pytest.raises(ValueError, match="at least two"):
        Moments.from_sums(count=1, total=3.0, squares=9.0)


def test_the_expected_loss_of_means_matches_monte_carlo_on_the_normal_difference():
    control, variant = Moments(count=5_000, mean=2.0, variance=25.0), Moments(count=5_000, mean=2.05, variance=30.0)
    se = (25.0 / 5_000 + 30.0 / 5_000) ** 0.5
    differences = np.random.default_rng(3).normal(0.05, se, size=2_000_000)

    loss = means_expected_loss(control, variant)

    assert loss.absolute == pytest.approx(np.maximum(-differences, 0).mean(), rel=0.01)
    assert loss.relative == pytest.approx(loss.absolute / 2.0)
    assert means_expected_loss(variant, control).absolute > loss.absolute  # shipping the worse arm costs more


def test_cuped_from_sums_as_the_rollups_keep_them_equals_cuped_on_the_values():
    rng = np.random.default_rng(12)
    pre = {"control": rng.gamma(1.0, 10.0, 3_000), "b": rng.gamma(1.0, 10.0, 3_200)}
    metric = {name: 0.6 * values + rng.normal(0, 5, values.size) + (1.0 if name == "b" else 0.0) for name, values in pre.items()}

    theta, reduction, adjusted = cuped_sums_adjust({
        name: CupedSums(count=values.size, total=float(metric[name].sum()), squares=float((metric[name] ** 2).sum()),
                        pre_total=float(values.sum()), pre_squares=float((values**2).sum()),
                        cross=float((values * metric[name]).sum()))
        for name, values in pre.items()
    })

    reference = cuped_adjust(metric=metric, covariate=pre)
    assert theta == pytest.approx(reference.theta, rel=1e-6)
    assert reduction == pytest.approx(reference.variance_reduction, rel=1e-6) and reduction > 0.3
    for name in pre:
        assert adjusted[name].mean == pytest.approx(reference.adjusted_means[name])
        assert adjusted[name].variance == pytest.approx(reference.adjusted[name].var(ddof=1), rel=1e-6)


def test_welch_lift_interval_covers_the_true_lift_about_95_percent_of_the_time():
    rng = np.random.default_rng(17)
    true_lift = 0.1
    covered = 0
    for _ in range(200):
        control = _revenue(rng, visitors=4_000, buy_rate=0.1)
        variant = _revenue(rng, visitors=4_000, buy_rate=0.1 * (1 + true_lift))
        lift = welch_comparison(control, variant).lift
        covered += lift.low <= true_lift <= lift.high

    assert 0.9 <= covered / 200 <= 0.99


def test_bootstrap_agrees_with_welch_on_large_arms():
    rng = np.random.default_rng(21)
    control = _revenue(rng, visitors=20_000, buy_rate=0.1, sigma=0.8)
    variant = _revenue(rng, visitors=20_000, buy_rate=0.105, sigma=0.8)

    welch = welch_comparison(control, variant)
    boot = bootstrap_comparison(control, variant, resamples=1_000, rng=4)

    width = welch.difference.high - welch.difference.low
    assert boot.difference.estimate == welch.difference.estimate
    assert boot.difference.low == pytest.approx(welch.difference.low, abs=0.1 * width)
    assert boot.difference.high == pytest.approx(welch.difference.high, abs=0.1 * width)
    lift_width = welch.lift.high - welch.lift.low
    assert boot.lift.low == pytest.approx(welch.lift.low, abs=0.1 * lift_width)
    assert boot.lift.high == pytest.approx(welch.lift.high, abs=0.1 * lift_width)
    assert boot.probability_to_beat == pytest.approx(welch.probability_to_beat, abs=0.05)


def test_bootstrap_of_identical_arms_is_undecided():
    values = _revenue(np.random.default_rng(2), visitors=2_000, buy_rate=0.2)

    result = bootstrap_comparison(values, values, resamples=500, rng=1)

    assert result.difference.low < 0 < result.difference.high
    assert result.probability_to_beat == pytest.approx(0.5, abs=0.06)


def test_bootstrap_is_reproducible_from_its_seed():
    rng = np.random.default_rng(6)
    control = _revenue(rng, visitors=500, buy_rate=0.3)
    variant = _revenue(rng, visitors=500, buy_rate=0.3)

    first = bootstrap_comparison(control, variant, resamples=300, rng=10)

    assert bootstrap_comparison(control, variant, resamples=300, rng=10) == first
    assert bootstrap_comparison(control, variant, resamples=300, rng=12) != first


def test_constant_arms_are_compared_with_certainty():
    result = welch_comparison([2.0, 2.0, 2.0], [3.0, 3.0])

    assert result.probability_to_beat == 1.0
    assert result.lift == Interval(estimate=0.5, low=0.5, high=0.5)


@pytest.mark.parametrize("compare", [welch_comparison, bootstrap_comparison])
def test_a_lift_over_no_revenue_is_refused(compare):
    with pytest.raises(ValueError, match="positive means"):
        compare([0.0, 0.0, 0.0], [0.0, 5.0, 0.0])


@pytest.mark.parametrize("compare", [welch_comparison, bootstrap_comparison])
def test_an_arm_of_one_visitor_is_refused(compare):
    with pytest.raises(ValueError, match="at least two"):
        compare([1.0], [1.0, 2.0])


# Sample-ratio mismatch


def test_srm_fires_on_a_48_52_split_of_100k():
    check = sample_ratio_mismatch(observed=[48_000, 52_000], expected_shares=[0.5, 0.5])

    # (2000^2 / 50000) twice, by hand.
    assert check.statistic == pytest.approx(160.0)
    assert check.p_value == pytest.approx(stats.chi2.sf(160.0, df=1))
    assert check.mismatch


def test_srm_stays_quiet_on_fair_assignment():
    rng = np.random.default_rng(31)
    for assigned_a in rng.binomial(100_000, 0.5, size=50):
        check = sample_ratio_mismatch(
            observed=[int(assigned_a), 100_000 - int(assigned_a)], expected_shares=[0.5, 0.5]
        )
        assert not check.mismatch


def test_srm_matches_scipy_chisquare_with_weights_as_shares():
    observed = [2_480, 2_610, 5_010]

    check = sample_ratio_mismatch(observed=observed, expected_shares=[1, 1, 2])

    reference = stats.chisquare(observed, f_exp=[2_525, 2_525, 5_050])
    assert check.statistic == pytest.approx(reference.statistic)
    assert check.p_value == pytest.approx(reference.pvalue)


def test_srm_judges_against_the_planned_split():
    observed = [90_150, 9_850]

    assert not sample_ratio_mismatch(observed=observed, expected_shares=[0.9, 0.1]).mismatch
    assert sample_ratio_mismatch(observed=observed, expected_shares=[0.5, 0.5]).mismatch


def test_srm_threshold_is_a_parameter():
    # chi2 = 2 * 150^2 / 5000 = 9, p ~ 0.0027: alarming at 0.01, tolerated at 0.001.
    observed = [4_850, 5_150]

    assert sample_ratio_mismatch(observed=observed, expected_shares=[1, 1], threshold=0.01).mismatch
    assert not sample_ratio_mismatch(observed=observed, expected_shares=[1, 1]).mismatch


def test_srm_without_visitors_is_no_mismatch():
    check = sample_ratio_mismatch(observed=[0, 0], expected_shares=[0.5, 0.5])

    assert check.p_value == 1.0 and not check.mismatch


@pytest.mark.parametrize(
    ("observed", "shares"), [([10, 10], [0.5, 0.3, 0.2]), ([10], [1.0]), ([-1, 5], [1, 1])]
)
def test_srm_refuses_malformed_input(observed, shares):
    with pytest.raises(ValueError):
        sample_ratio_mismatch(observed=observed, expected_shares=shares)


# CUPED


def _pre_post(rng: np.random.Generator, *, visitors: int, rho: float, effect: float):
    """Standard-normal pre-period X and post-period Y with corr(X, Y) = rho, plus an effect."""
    pre = rng.standard_normal(visitors)
    post = rho * pre + math.sqrt(1 - rho**2) * rng.standard_normal(visitors) + effect
    return post, pre


def test_cuped_reduces_variance_by_about_rho_squared_and_keeps_the_effect():
    rng = np.random.default_rng(12)
    post_a, pre_a = _pre_post(rng, visitors=20_000, rho=0.7, effect=0.0)
    post_b, pre_b = _pre_post(rng, visitors=20_000, rho=0.7, effect=0.05)

    result = cuped_adjust(metric={"A": post_a, "B": post_b}, covariate={"A": pre_a, "B": pre_b})

    y, x = np.concatenate([post_a, post_b]), np.concatenate([pre_a, pre_b])
    assert result.theta == pytest.approx(np.cov(y, x)[0, 1] / np.var(x, ddof=1))
    assert result.variance_reduction == pytest.approx(0.49, abs=0.02)
    # The standard error of the difference is 0.007 here.
    assert result.adjusted_means["B"] - result.adjusted_means["A"] == pytest.approx(0.05, abs=0.025)
    pooled = np.concatenate([result.adjusted["A"], result.adjusted["B"]])
    assert pooled.mean() == pytest.approx(y.mean())


def test_cuped_narrows_the_spread_of_the_estimated_effect():
    rng = np.random.default_rng(13)
    raw, adjusted = [], []
    for _ in range(200):
        post_a, pre_a = _pre_post(rng, visitors=1_000, rho=0.6, effect=0.0)
        post_b, pre_b = _pre_post(rng, visitors=1_000, rho=0.6, effect=0.1)
        result = cuped_adjust(metric={"A": post_a, "B": post_b}, covariate={"A": pre_a, "B": pre_b})
        raw.append(post_b.mean() - post_a.mean())
        adjusted.append(result.adjusted_means["B"] - result.adjusted_means["A"])

    assert np.mean(adjusted) == pytest.approx(0.1, abs=0.01)
    # The estimate's spread shrinks by sqrt(1 - rho^2) = 0.8.
    assert np.std(adjusted) / np.std(raw) == pytest.approx(0.8, abs=0.08)


def test_cuped_with_a_constant_covariate_changes_nothing():
    metric = {"A": np.array([1.0, 3.0]), "B": np.array([2.0, 6.0])}

    result = cuped_adjust(metric=metric, covariate={"A": np.zeros(2), "B": np.zeros(2)})

    assert result.theta == 0.0 and result.variance_reduction == 0.0
    assert result.adjusted_means == {"A": 2.0, "B": 4.0}


def test_cuped_refuses_mismatched_input():
    with pytest.raises(ValueError, match="same variants"):
        cuped_adjust(metric={"A": [1.0]}, covariate={"B": [1.0]})
    with pytest.raises(ValueError, match="one covariate value"):
        cuped_adjust(metric={"A": [1.0, 2.0]}, covariate={"A": [1.0]})


# Sample size and test length


def test_sample_size_for_a_10_percent_lift_on_a_10_percent_rate():
    # By hand: p1 = 0.10, p2 = 0.11, p_bar = 0.105;
    # (1.959964 * sqrt(2 * 0.105 * 0.895) + 0.841621 * sqrt(0.09 + 0.0979))^2 / 0.01^2 = 14750.8
    assert sample_size_per_variant(baseline_rate=0.1, relative_mde=0.1) == 14_751


def test_sample_size_is_close_to_statsmodels_arcsine_power():
    # statsmodels' NormalIndPower with Cohen's h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)),
    # solved for equal arms: n = 2 ((z_alpha/2 + z_power) / h)^2.
    for baseline, mde in [(0.1, 0.1), (0.03, 0.2), (0.5, -0.05)]:
        p2 = baseline * (1 + mde)
        h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(baseline))
        arcsine = 2 * ((Z_975 + stats.norm.ppf(0.8)) / h) ** 2

        ours = sample_size_per_variant(baseline_rate=baseline, relative_mde=mde)

        assert ours == pytest.approx(arcsine, rel=0.01)


def test_halving_the_detectable_effect_about_quadruples_the_sample():
    wide = sample_size_per_variant(baseline_rate=0.05, relative_mde=0.1)
    narrow = sample_size_per_variant(baseline_rate=0.05, relative_mde=0.05)

    assert narrow / wide == pytest.approx(4, rel=0.05)
    assert sample_size_per_variant(baseline_rate=0.05, relative_mde=0.1, power=0.9) > wide


@pytest.mark.parametrize(("baseline", "mde"), [(0.0, 0.1), (0.6, 1.0), (0.1, 0.0)])
def test_sample_size_refuses_impossible_rates(baseline, mde):
    with pytest.raises(ValueError):
        sample_size_per_variant(baseline_rate=baseline, relative_mde=mde)


@pytest.mark.parametrize(
    ("visitors", "daily", "shares", "days"),
    [
        (14_751, 1_000, [0.5, 0.5], 30),
        (14_751, 1_000, [0.8, 0.2], 74),
        # Only a fifth of the traffic takes part.
        (1_000, 1_000, [0.1, 0.1], 10),
        # 100 * 0.29 is 28.999999999999996 in floating point: no extra day for that.
        (29, 100, [0.29, 0.71], 1),
    ],
)
def test_days_needed_is_set_by_the_smallest_arm(visitors, daily, shares, days):
    assert (
        days_needed(visitors_per_variant=visitors, daily_visitors=daily, traffic_shares=shares)
        == days
    )


def test_days_needed_refuses_shares_above_the_whole_traffic():
    with pytest.raises(ValueError, match="above 1"):
        days_needed(visitors_per_variant=10, daily_visitors=100, traffic_shares=[0.6, 0.6])


# Thompson sampling


def test_thompson_shares_follow_the_probability_of_being_best():
    control, variant = RateCounts(120, 1000), RateCounts(140, 1000)

    shares = thompson_shares({"control": control, "B": variant}, floor=0.1, draws=200_000, rng=1)

    assert sum(shares.values()) == pytest.approx(1.0)
    p_best = probability_to_beat(control, variant)
    assert shares["B"] == pytest.approx(0.1 + 0.8 * p_best, abs=0.005)


def test_thompson_keeps_the_floor_for_a_hopeless_arm():
    arms = {
        "control": RateCounts(500, 5000),
        "B": RateCounts(650, 5000),
        "C": RateCounts(200, 5000),
    }

    shares = thompson_shares(arms, floor=0.05, rng=2)

    assert list(shares) == ["control", "B", "C"]
    assert shares["C"] == pytest.approx(0.05)
    assert shares["B"] > 0.85
    assert min(shares.values()) >= 0.05


def test_thompson_splits_evenly_between_equal_arms():
    arms = {name: RateCounts(50, 1000) for name in ("control", "B", "C", "D")}

    shares = thompson_shares(arms, draws=100_000, rng=3)

    assert list(shares.values()) == pytest.approx([0.25] * 4, abs=0.01)


def test_thompson_refuses_floors_above_the_whole_traffic():
    arms = {name: RateCounts(1, 10) for name in "ABC"}

    with pytest.raises(ValueError, match="exceeds the whole traffic"):
        thompson_shares(arms, floor=0.4)


# Decision text


def _text(**overrides):
    figures = {
        "variant": "Variant B",
        "metric": "conversion",
        "probability": 0.91,
        "lift": Interval(estimate=0.041, low=-0.003, high=0.087),
        "expected_loss": 0.0002,
        "days_remaining": 3,
    }
    return decision_text(**(figures | overrides))


def test_decision_text_while_still_undecided():
    assert _text() == (
        "Variant B: 91 % likely better than control on conversion, +4.1 % (\u22120.3 % to +8.7 %); "
        "expected loss if shipped 0.02 %; keep running ~3 more days to reach 95 %."
    )
    assert _text(days_remaining=1).endswith("keep running ~1 more day to reach 95 %.")
    assert _text(days_remaining=None).endswith("; keep running to reach 95 %.")


def test_decision_text_calls_a_winner_at_the_target():
    text = _text(probability=0.996, lift=Interval(0.08, 0.03, 0.13), target=0.99)

    assert text.startswith("Variant B: > 99 % likely better")
    assert text.endswith("; ready to ship at 99 %.")


def test_decision_text_calls_a_loser():
    text = _text(probability=0.002, lift=Interval(-0.06, -0.09, -0.03), expected_loss=0.06)

    assert "< 1 % likely better" in text
    assert "\u22126.0 % (\u22129.0 % to \u22123.0 %)" in text
    assert "expected loss if shipped 6.00 %" in text
    assert text.endswith("likely worse than control; stop and keep control.")
