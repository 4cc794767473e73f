import pytest

from tests.homepage.helpers import embed_by_category


@pytest.fixture
def served(pattern_shop):
    """The planted-pattern shop, its items text-embedded by category."""
    embed_by_category(pattern_shop.items.all())
    return pattern_shop
