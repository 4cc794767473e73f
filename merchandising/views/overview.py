from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from recommender.selectors import family_statuses

from .. import selectors
from ..console import console_view


@require_GET
def root(request):
    return redirect("console-overview")


@require_GET
@console_view
def overview(request, shop):
    return render(
        request,
        "merchandising/overview.html",
        {"shop": shop, "counts": selectors.shop_counts(shop=shop), "families": family_statuses(shop=shop)},
    )
