import pytest

from homepage.services import default_rails_ensure


@pytest.fixture
def console_a(client, merchandiser_a, pattern_shop):
    """Alice logged in to the console of the pattern shop, with its default rails."""
    default_rails_ensure(shop=pattern_shop)
    client.force_login(merchandiser_a)
    return client
