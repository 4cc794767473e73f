"""The page a shop gets before a merchandiser changes anything, and each rail kind's default blend."""

from recommender.ml.blend import PERSONAL_BLEND

from .rules import RailKind

DEFAULT_BLEND = {
    RailKind.FOR_YOU: dict(PERSONAL_BLEND),
    RailKind.BECAUSE_YOU_VIEWED: {"text": 0.5, "mf": 0.5},
    RailKind.TRENDING: {"trending": 0.7, "popularity": 0.3},
    RailKind.NEW_ARRIVALS: {"recency": 1.0},
    RailKind.TOP_IN_CATEGORY: {"popularity": 0.7, "sequential": 0.1, "mf": 0.1, "text": 0.1},
    RailKind.RECENTLY_VIEWED: {"recency": 1.0},
    RailKind.COMPLEMENTS: {"co_purchase": 0.8, "popularity": 0.2},
    RailKind.CAMPAIGN: {"campaign": 0.5, "sequential": 0.2, "mf": 0.1, "popularity": 0.2},
}

DEFAULT_RAILS = [
    dict(key="campaign", title="{campaign}", kind=RailKind.CAMPAIGN, size=8, diversity=0.2,
         max_per_category=None, max_per_brand=None, exploration_share=0.0),
    dict(key="for-you", title="Picked for you", kind=RailKind.FOR_YOU, size=12, diversity=0.3,
         max_per_category=4, max_per_brand=3, exploration_share=0.10),
    dict(key="because-you-viewed", title="Because you viewed {seed}", kind=RailKind.BECAUSE_YOU_VIEWED, size=10,
         diversity=0.2, max_per_category=None, max_per_brand=4, exploration_share=0.0),
    dict(key="trending", title="Trending now", kind=RailKind.TRENDING, size=12, diversity=0.5,
         max_per_category=4, max_per_brand=3, exploration_share=0.10),
    dict(key="top-in-category", title="Top picks in {category}", kind=RailKind.TOP_IN_CATEGORY, size=10,
         diversity=0.3, max_per_category=None, max_per_brand=3, exploration_share=0.10),
    dict(key="complements", title="Goes well with your cart", kind=RailKind.COMPLEMENTS, size=8, diversity=0.3,
         max_per_category=3, max_per_brand=3, exploration_share=0.0),
    dict(key="new-arrivals", title="New arrivals", kind=RailKind.NEW_ARRIVALS, size=12, diversity=0.4,
         max_per_category=4, max_per_brand=3, exploration_share=0.0),
    dict(key="recently-viewed", title="Recently viewed", kind=RailKind.RECENTLY_VIEWED, size=10, diversity=0.0,
         max_per_category=None, max_per_brand=None, exploration_share=0.0),
]
