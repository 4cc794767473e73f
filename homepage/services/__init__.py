from .compose import (
    Page,
    PageItem,
    PageRail,
    PageRequestInvalid,
    homepage_compose,
    rail_compose,
    recommendations_compose,
)
from .precompute import homepages_precompute, shoppers_recently_active
from .serve import (
    homepage_layout,
    homepage_serve,
    recommendations_serve,
    similar_items_serve,
)
from .similar import similar_items
from .warm import serving_warm

__all__ = [
    "Page",
    "PageItem",
    "PageRail",
    "PageRequestInvalid",
    "homepage_compose",
    "homepage_layout",
    "homepage_serve",
    "homepages_precompute",
    "rail_compose",
    "recommendations_compose",
    "recommendations_serve",
    "serving_warm",
    "shoppers_recently_active",
    "similar_items",
    "similar_items_serve",
]
