import json

import numpy as np
import pytest

from recommender.ml.data import Interactions
from recommender.ml.nets.popularity import PopularityModel

DAY = 86_400.0
NOW = 1_700_000_000.0
VIEW, PURCHASE = 1.0, 5.0


def make_interactions(events: list[tuple[int, float, float]], n_items: int) -> Interactions:
    """Events as (item, weight, days before NOW), each from its own user."""
    items, weights, ages = zip(*events)
    n_events = len(events)
    return Interactions(
        user_ids=np.arange(n_events, dtype=np.int64),
        item_ids=np.array(items, dtype=np.int64),
        weights=np.array(weights, dtype=np.float32),
        timestamps=NOW - np.array(ages, dtype=np.float64) * DAY,
        event_types=np.zeros(n_events, dtype=np.int64),
        n_users=n_events,
        n_items=n_items,
    )


def test_recent_purchase_outranks_many_old_purchases():
    events = [(0, PURCHASE, 300.0)] * 5 + [(1, PURCHASE, 1.0)]

    scores = PopularityModel(half_life_days=30.0).fit(make_interactions(events, 3), now=NOW).score()

    assert scores[1] > scores[0]
    assert scores[1] == pytest.approx(PURCHASE * 0.5 ** (1 / 30))
    assert scores[0] == pytest.approx(5 * PURCHASE * 0.5**10)
    assert scores[2] == 0.0


def test_purchase_outweighs_several_views():
    events = [(0, VIEW, 0.0)] * 3 + [(1, PURCHASE, 0.0)]

    scores = PopularityModel().fit(make_interactions(events, 2)).score()

    assert scores.tolist() == pytest.approx([3 * VIEW, PURCHASE])


def test_now_defaults_to_latest_event():
    events = [(0, VIEW, 30.0), (1, VIEW, 60.0)]

    model = PopularityModel(half_life_days=30.0).fit(make_interactions(events, 2))

    assert model.now == pytest.approx(NOW - 30 * DAY)
    assert model.score().tolist() == pytest.approx([1.0, 0.5])


def test_every_user_gets_the_same_scores():
    model = PopularityModel().fit(make_interactions([(0, VIEW, 0.0), (2, PURCHASE, 0.0)], 3))

    batch = model.score_users(np.array([4, 9]), [np.array([0]), np.array([], dtype=np.int64)])

    assert batch.tolist() == [[1.0, 0.0, 5.0], [1.0, 0.0, 5.0]]
    assert model.score(n_users=2).shape == (2, 3)


def test_top_in_category_ranks_members_only():
    events = [
        (0, VIEW, 0.0),
        (1, PURCHASE, 0.0),
        (2, PURCHASE, 0.0),
        (3, VIEW, 0.0),
        (3, VIEW, 0.0),
    ]
    categories = np.array([7, 7, 8, 7, -1])

    model = PopularityModel().fit(make_interactions(events, 5), item_categories=categories)

    assert model.top_in_category(7, k=2).tolist() == [1, 3]
    assert model.top_in_category(7, k=10).tolist() == [1, 3, 0]
    assert model.top_in_category(5, k=3).tolist() == []
    assert model.category_scores().tolist() == pytest.approx([0, 0, 0, 0, 0, 0, 0, 8.0, 5.0])


def test_trending_surfaces_recent_burst_over_steady_and_fading_items():
    steady = [(0, VIEW, day + 0.5) for day in range(60)]
    bursting = [(1, VIEW, day + 0.5) for day in range(10, 60, 10)] + [(1, VIEW, 0.5)] * 10
    fading = [(2, VIEW, day + 0.5) for day in range(20, 60)]
    newcomer = [(3, VIEW, 1.0)]
    interactions = make_interactions(steady + bursting + fading + newcomer, 4)

    trending = PopularityModel().trending(interactions, window_days=7, k=3, now=NOW)

    assert trending.tolist()[:2] == [1, 3]
    assert 2 not in trending.tolist()


def test_trending_smoothing_holds_back_a_single_event():
    burst = [(0, VIEW, 1.0)] * 6 + [(0, VIEW, 30.0)]
    single = [(1, VIEW, 1.0)]
    interactions = make_interactions(burst + single, 2)

    assert PopularityModel().trending(interactions, window_days=7, k=2).tolist() == [0, 1]


def test_state_round_trips_through_json_and_arrays():
    events = [(0, VIEW, 3.0), (1, PURCHASE, 40.0)]
    model = PopularityModel(half_life_days=10.0).fit(
        make_interactions(events, 2), item_categories=np.array([1, 0])
    )

    config, arrays = model.to_state()
    restored = PopularityModel.from_state(json.loads(json.dumps(config)), arrays)

    assert restored.half_life_days == 10.0
    assert restored.score().tolist() == model.score().tolist()
    assert restored.top_in_category(0, k=1).tolist() == [1]


def test_scoring_before_fit_fails_clearly():
    with pytest.raises(RuntimeError, match="not fitted"):
        PopularityModel().score()
