from .compose import (
    Page,
    PageItem,
    PageRail,
    PageRequestInvalid,
    default_rails_ensure,
    homepage_compose,
    rail_compose,
    recommendations_compose,
)
from .serve import homepage_serve, recommendations_serve, similar_items_serve
from .similar import similar_items

__all__ = [
    "Page",
    "PageItem",
    "PageRail",
    "PageRequestInvalid",
    "default_rails_ensure",
    "homepage_compose",
    "homepage_serve",
    "rail_compose",
    "recommendations_compose",
    "recommendations_serve",
    "similar_items",
    "similar_items_serve",
]
