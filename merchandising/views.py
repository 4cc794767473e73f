from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from recommender.selectors import family_statuses

from . import selectors


@require_GET
def root(request):
    return redirect("console-overview")


@require_GET
@login_required
def overview(request):
    if not selectors.user_can_enter_console(request.user):
        raise PermissionDenied("The console is for merchandisers; ask an admin to add you to the merchandiser group.")
    shops = [
        (shop, selectors.shop_counts(shop=shop), family_statuses(shop=shop))
        for shop in selectors.shops_for_user(request.user)
    ]
    return render(request, "merchandising/overview.html", {"shops": shops})
