from catalog.models import Shopper

from ..models import ShopperProfile
from ..selectors import shopper_interest_tags


def shopper_profile_refresh(*, shopper: Shopper, limit: int = 50) -> ShopperProfile:
    """Store the shopper's interest tags (their names, strongest first) from their latest events."""
    tags = {kind: [name for name, _ in weighted] for kind, weighted in shopper_interest_tags(shopper=shopper, limit=limit).items()}
    profile, _ = ShopperProfile.objects.update_or_create(shopper=shopper, defaults={"tags": tags})
    return profile
