import pytest

from merchandising.models import Rail
from merchandising.services import default_rails_ensure


@pytest.fixture
def console_a(client, merchandiser_a, pattern_shop):
    """Alice logged in to the console of the pattern shop, with its default rails."""
    default_rails_ensure(shop=pattern_shop)
    client.force_login(merchandiser_a)
    return client


@pytest.fixture
def for_you(console_a) -> Rail:
    """Shop A's "Picked for you" rail, with Alice logged in."""
    return Rail.objects.get(shop__slug="shop-a", key="for-you")
