"""The experiments' statistics on simulated traffic with a known truth, without a server.

Visitors each have a click propensity drawn from a Beta distribution around the baseline (most rarely
click, a few often), which also drives their clicks over PRE_VISITS visits before the experiment: the
pre-period metric CUPED adjusts by. During the experiment each visitor sees the page once and clicks
with their propensity, times 1 + lift in the variant when an effect is injected. Visitors are placed
by the product's hash (merchandising.experiments.assignment: the draw that picks a variant, salted by
the experiment's id), and judged by merchandising.experiments.stats:

- A/A experiments (no effect): the share the product would call "better" (probability to beat >= 0.95);
- a +10 % effect at the sample size sample_size_per_variant predicts: the share of runs that detect it;
- CUPED's variance reduction on the pre-period, and what it saves: the +10 % detected on only
  (1 - reduction) of those visitors, with and without the adjustment (Welch's comparison of means);
- the sample ratio check on 100,000 visitors split 50/50 and deliberately 48/52.

Importing the assignment module loads the product's settings, which attach to the embedded servers of the
data dir (or start them, and stop them after); nothing is sent or written.
"""

import argparse
import math
import os

import numpy as np
from scipy import stats as scipy_stats

from config.embedded import data_dir
from merchandising.experiments.stats import (
    RateCounts,
    cuped_adjust,
    probability_to_beat,
    sample_ratio_mismatch,
    sample_size_per_variant,
    welch_comparison,
)

from .common import BenchResult, dev_data_env

NAME = "experiments"
SHOP_ID = 1
PRE_VISITS = 10
CONCENTRATION = 2.0  # alpha + beta of the propensities' Beta: the lower, the more visitors differ
THRESHOLD = 0.95
AA_TARGET = 0.06
POWER_TARGET = 0.80
SRM_VISITORS = 100_000
BROKEN_SPLIT = (0.48, 0.52)


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench experiments")
    parser.add_argument("--aa-runs", type=int, default=200, help="A/A experiments (default 200)")
    parser.add_argument("--power-runs", type=int, default=200, help="experiments with the effect injected (default 200)")
    parser.add_argument("--baseline", type=float, default=0.05, help="visitors' mean click-through (default 0.05)")
    parser.add_argument("--lift", type=float, default=0.10, help="relative effect injected (default 0.10)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


class Traffic:
    """A fixed population of visitors: ids, propensities, pre-period clicks; each experiment draws their clicks anew."""

    def __init__(self, *, visitors: int, baseline: float, seed: int):
        rng = np.random.default_rng(seed)
        self.ids = [f"visitor-{number}" for number in range(visitors)]
        self.propensity = rng.beta(baseline * CONCENTRATION, (1 - baseline) * CONCENTRATION, size=visitors)
        self.pre_clicks = rng.binomial(PRE_VISITS, self.propensity).astype(np.float64)
        self.seed = seed

    def arms(self, *, experiment_id: int, shares: tuple[float, ...] = (0.5, 0.5)) -> np.ndarray:
        """Each visitor's variant index, by the product's hash, in visitor order."""
        from merchandising.experiments.assignment import share_pick, unit_draw

        return np.fromiter(
            (share_pick(unit_draw(shop_id=SHOP_ID, salt=experiment_id, shopper_external_id=visitor), shares) for visitor in self.ids),
            dtype=np.int8, count=len(self.ids),
        )

    def clicks(self, *, experiment_id: int, arms: np.ndarray, lift: float) -> np.ndarray:
        rng = np.random.default_rng([self.seed, experiment_id])
        return (rng.random(len(self.ids)) < self.propensity * np.where(arms == 1, 1.0 + lift, 1.0)).astype(np.float64)


def _beta_better(arms: np.ndarray, clicks: np.ndarray) -> bool:
    control, variant = (RateCounts(successes=int(clicks[arms == arm].sum()), trials=int((arms == arm).sum())) for arm in (0, 1))
    return probability_to_beat(control, variant) >= THRESHOLD


def _welch_better(arms: np.ndarray, clicks: np.ndarray, pre: np.ndarray, *, cuped: bool) -> tuple[bool, float]:
    """Welch's call on the visitors given, CUPED-adjusted or not, and the adjustment's variance reduction."""
    by_arm = {arm: (clicks[arms == arm], pre[arms == arm]) for arm in (0, 1)}
    adjustment = cuped_adjust(metric={arm: y for arm, (y, _) in by_arm.items()}, covariate={arm: x for arm, (_, x) in by_arm.items()})
    values = adjustment.adjusted if cuped else {arm: y for arm, (y, _) in by_arm.items()}
    return welch_comparison(values[0], values[1]).probability_to_beat >= THRESHOLD, adjustment.variance_reduction


def _share_row(check: str, calls: list[bool], *, visitors: int, target: str, met: bool | None) -> dict:
    interval = scipy_stats.binomtest(sum(calls), len(calls)).proportion_ci(confidence_level=0.95)
    return {
        "check": check,
        "runs": len(calls),
        "visitors per variant": visitors,
        "result": f"{sum(calls) / len(calls):.1%}",
        "95 % interval": f"{interval.low:.1%} to {interval.high:.1%}",
        "target": target,
        "met": "" if met is None else ("yes" if met else "NO"),
    }


def _experiments(args: argparse.Namespace, n: int) -> tuple[list[dict], dict]:
    traffic = Traffic(visitors=2 * n, baseline=args.baseline, seed=args.seed)
    aa_beta, aa_cuped = [], []
    for experiment_id in range(1, args.aa_runs + 1):
        arms = traffic.arms(experiment_id=experiment_id)
        clicks = traffic.clicks(experiment_id=experiment_id, arms=arms, lift=0.0)
        aa_beta.append(_beta_better(arms, clicks))
        aa_cuped.append(_welch_better(arms, clicks, traffic.pre_clicks, cuped=True)[0])
    reductions, power_beta = [], []
    runs = []
    for experiment_id in range(args.aa_runs + 1, args.aa_runs + args.power_runs + 1):
        arms = traffic.arms(experiment_id=experiment_id)
        clicks = traffic.clicks(experiment_id=experiment_id, arms=arms, lift=args.lift)
        power_beta.append(_beta_better(arms, clicks))
        reductions.append(_welch_better(arms, clicks, traffic.pre_clicks, cuped=True)[1])
        runs.append((arms, clicks))
    reduction = float(np.mean(reductions))
    # The same experiments stopped early, after the visitors CUPED says give the same precision.
    n_cuped = math.ceil(n * (1 - reduction))
    early = [(arms[: 2 * n_cuped], clicks[: 2 * n_cuped]) for arms, clicks in runs]
    pre = traffic.pre_clicks[: 2 * n_cuped]
    short_plain = [_welch_better(arms, clicks, pre, cuped=False)[0] for arms, clicks in early]
    short_cuped = [_welch_better(arms, clicks, pre, cuped=True)[0] for arms, clicks in early]
    aa_rate, power_rate, cuped_rate = (sum(calls) / len(calls) for calls in (aa_beta, power_beta, short_cuped))
    lift = f"+{args.lift:.0%}"
    rows = [
        _share_row("A/A called better (Beta posterior)", aa_beta, visitors=n, target=f"<= {AA_TARGET:.0%}", met=aa_rate <= AA_TARGET),
        _share_row("A/A called better (CUPED, Welch)", aa_cuped, visitors=n, target=f"<= {AA_TARGET:.0%}",
                   met=sum(aa_cuped) / len(aa_cuped) <= AA_TARGET),
        _share_row(f"{lift} detected (Beta posterior)", power_beta, visitors=n, target=f">= {POWER_TARGET:.0%}",
                   met=power_rate >= POWER_TARGET),
        _share_row(f"{lift} detected, fewer visitors (Welch, no CUPED)", short_plain, visitors=n_cuped, target="", met=None),
        _share_row(f"{lift} detected, fewer visitors (CUPED, Welch)", short_cuped, visitors=n_cuped,
                   target=f">= {POWER_TARGET:.0%}", met=cuped_rate >= POWER_TARGET),
        {"check": "CUPED variance reduction (mean over the runs)", "runs": len(reductions), "visitors per variant": n,
         "result": f"{reduction:.1%}", "95 % interval": f"{min(reductions):.1%} to {max(reductions):.1%} (range)",
         "target": "", "met": ""},
    ]
    metrics = {
        "sample_size_per_variant": n, "aa_false_positive_rate": aa_rate, "aa_cuped_false_positive_rate": sum(aa_cuped) / len(aa_cuped),
        "power": power_rate, "cuped_variance_reduction": reduction, "cuped_visitors_per_variant": n_cuped,
        "power_fewer_visitors_plain": sum(short_plain) / len(short_plain), "power_fewer_visitors_cuped": cuped_rate,
    }
    return rows, metrics


def _srm_rows(seed: int) -> tuple[list[dict], dict]:
    traffic = Traffic(visitors=SRM_VISITORS, baseline=0.05, seed=seed)
    rows, metrics = [], {}
    for label, shares in (("50/50", (0.5, 0.5)), ("48/52 (broken)", BROKEN_SPLIT)):
        arms = traffic.arms(experiment_id=10_000, shares=shares)
        counts = np.bincount(arms, minlength=2).tolist()
        check = sample_ratio_mismatch(observed=counts, expected_shares=(0.5, 0.5))
        rows.append({
            "check": f"SRM on a {label} split, checked against 50/50", "runs": 1, "visitors per variant": f"{counts[0]:,} / {counts[1]:,}",
            "result": f"p = {check.p_value:.2g}", "95 % interval": "", "target": "fires" if shares != (0.5, 0.5) else "silent",
            "met": "yes" if check.mismatch == (shares != (0.5, 0.5)) else "NO",
        })
        metrics[f"srm_p_value_{label.split()[0].replace('/', '_')}"] = check.p_value
    return rows, metrics


def run(argv: list[str]) -> BenchResult:
    args = arguments_parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    n = sample_size_per_variant(baseline_rate=args.baseline, relative_mde=args.lift)
    with dev_data_env(data_dir()):
        import django

        django.setup()
        rows, metrics = _experiments(args, n)
        srm_rows, srm_metrics = _srm_rows(args.seed)
    return BenchResult(
        name=NAME,
        rows=rows + srm_rows,
        metrics={**metrics, **srm_metrics},
        notes=[
            (f"Visitors' click-through {args.baseline:.0%} on average, propensities Beta({args.baseline * CONCENTRATION:g}, "
            f"{(1 - args.baseline) * CONCENTRATION:g}), pre-period {PRE_VISITS} visits; {n:,} visitors per variant is "
            f"sample_size_per_variant(baseline {args.baseline:g}, +{args.lift:.0%}) at two-sided alpha 0.05 and 80 % power. "
            f"Shares are out of the runs; the interval is the share's 95 % Clopper-Pearson interval over that many runs."),
            (f"CUPED removes {metrics['cuped_variance_reduction']:.1%} of the variance: a CUPED comparison is as precise on "
            f"{metrics['cuped_visitors_per_variant']:,} visitors per variant as a plain one on {n:,}, "
            f"{n - metrics['cuped_visitors_per_variant']:,} fewer per variant."),
        ],
    )
