from django.contrib.auth.models import Group, User
from django.db import transaction

from catalog.models import Shop

from ..lookups import MERCHANDISER_GROUP
from ..models import Membership


@transaction.atomic
def demo_merchandiser_ensure(*, shop: Shop, username: str, password: str) -> User:
    """The demo login: a merchandiser of `shop` who may also use the Django admin."""
    user, _ = User.objects.get_or_create(username=username)
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()
    user.groups.add(*Group.objects.filter(name__in=[MERCHANDISER_GROUP, "admin"]))
    Membership.objects.get_or_create(user=user, shop=shop)
    return user
