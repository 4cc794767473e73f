"""Who may enter the console and which shop they work in: one decorator for every console view."""

from dataclasses import dataclass
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event

from catalog.models import Shop

from . import selectors
from .forms.common import service_errors_attach
from .models import Draft
from .services import rules_change

SHOP_SESSION_KEY = "console_shop"


@dataclass
class Console:
    """What every console page shows in its frame: the shop worked in, the others, the open draft."""

    shop: Shop
    shops: list[Shop]
    draft: Draft | None


def console_shop_choose(request, shops: list[Shop]) -> Shop:
    """The shop asked for (?shop=slug), else the one chosen earlier in this session, else the first.
    Asking for a shop one is not a member of finds nothing, as for a shop that does not exist."""
    by_slug = {shop.slug: shop for shop in shops}
    asked = request.GET.get("shop")
    if asked and asked not in by_slug:
        raise Http404("No such shop among yours.")
    shop = by_slug.get(asked or request.session.get(SHOP_SESSION_KEY)) or shops[0]
    if request.session.get(SHOP_SESSION_KEY) != shop.slug:  # a session written only when the choice changes
        request.session[SHOP_SESSION_KEY] = shop.slug
    return shop


def console_view(view):
    """Log in first; merchandisers (or staff) only; the view gets the shop the user works in, and
    `request.console` carries the frame's state. A member of no shop is told to ask for one."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not selectors.user_can_enter_console(request.user):
            raise PermissionDenied("The console is for merchandisers: ask an admin to add you to the merchandiser group.")
        shops = list(selectors.shops_for_user(request.user).order_by("name"))
        if not shops:
            return render(request, "merchandising/no_shop.html", status=403)
        shop = console_shop_choose(request, shops)
        request.console = Console(shop=shop, shops=shops, draft=selectors.open_draft(shop=shop, user=request.user))
        return view(request, shop, *args, **kwargs)

    return wrapper


def console_change(request, form: forms.Form, *, operation: str, summary: str, **arguments):
    """A console edit through `rules_change` (live, or into the open draft); on refusal the messages go
    on `form` and None is returned."""
    try:
        return rules_change(
            shop=request.console.shop, actor=request.user, operation=operation, summary=summary, **arguments
        )
    except (ValidationError, ValueError) as error:  # a DraftConflict is a ValueError too
        service_errors_attach(form, error)
        return None


def changed_response(request, response: HttpResponse) -> HttpResponse:
    """Tell the page that the rules changed (previews refresh) and, in draft mode, that the draft grew."""
    trigger_client_event(response, "rulesChanged")
    if request.console.draft is not None:
        trigger_client_event(response, "draftChanged")
    return response


def redirect_back(request, fallback: str = "console-overview"):
    """After a form posted without htmx: back where it came from (`next` or the referring page) when that
    is this site, else to `fallback`."""
    target = request.POST.get("next") or request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)
