"""Pieces every console page uses: the item autocomplete."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import selectors
from ..console import console_view


@require_GET
@console_view
def items_search(request, shop):
    # The picker's input sends its value under the form field's name, which it names in `param`.
    query = request.GET.get("q") or request.GET.get(request.GET.get("param", ""), "")
    return render(
        request,
        "merchandising/_item_suggestions.html",
        {"items": selectors.items_search(shop=shop, query=query), "query": query, "target": request.GET.get("field", "")},
    )
