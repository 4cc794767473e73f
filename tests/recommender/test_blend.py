import numpy as np

from homepage.services.ranking import scores_blend
from recommender.ml.blend import Blend


def test_the_offline_blend_ranks_a_shopper_s_candidates_as_the_page_blends_them():
    rng = np.random.default_rng(0)
    scores = [rng.normal(size=(1, 60)), rng.normal(size=(1, 60))]
    history = [np.array([4, 17])]
    blend = Blend([("sequential", None, 0.7), ("text", None, 0.3)])

    fused = blend.fuse(scores, history, candidates=10)[0]

    families = {}
    for (family, _, _), part in zip(blend.parts, scores):
        kept = [index for index in np.argsort(-part[0], kind="stable") if index not in history[0]][:10]
        families[family] = [(int(index), float(part[0, index])) for index in kept]
    pool = list(dict.fromkeys(pk for ranked in families.values() for pk, _ in ranked))
    page = scores_blend(families, {"sequential": 0.7, "text": 0.3}, pool)
    assert dict(zip(page.pks.tolist(), page.relevance.tolist())) == {
        index: fused[index] for index in np.flatnonzero(fused > 0).tolist()
    }
    assert fused[history[0]].tolist() == [0.0, 0.0]


def test_a_blend_puts_first_what_both_families_rank_high():
    # Item 2 is second for both families; items 0 and 1 are first for one family each and last for the other.
    first = np.array([[3.0, 0.0, 2.0, 1.0]])
    second = np.array([[0.0, 3.0, 2.0, 1.0]])
    fused = Blend([("sequential", None, 0.5), ("text", None, 0.5)]).fuse([first, second], [np.array([], dtype=np.int64)], candidates=4)

    assert int(np.argmax(fused[0])) == 2


def test_a_family_s_first_candidate_outweighs_its_twentieth_that_a_lighter_family_favours():
    # Sequential (0.7) ranks item 0 first and item 19 twentieth; text (0.3) ranks item 19 first and leaves item 0 out.
    sequential = -np.arange(400, dtype=np.float64)[None, :]
    text = np.zeros((1, 400))
    text[0, 19], text[0, 0] = 1.0, -1.0
    blend = Blend([("sequential", None, 0.7), ("text", None, 0.3)])

    fused = blend.fuse([sequential, text], [np.array([], dtype=np.int64)], candidates=200)[0]

    assert fused[0] > fused[19]
