from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, register_converter
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog.converters import ExternalIdConverter, StoredExternalIdConverter

from . import api_errors

# Storefront ids in URLs, for every app's API: registered once, before the app urls load.
register_converter(ExternalIdConverter, "extid")
register_converter(StoredExternalIdConverter, "storedid")


@require_GET
def favicon(request):
    # Browsers ask for /favicon.ico whatever a page links. Not permanent: the collected file's name changes with it.
    return redirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # The admin's own login takes staff only; merchandisers log in here.
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("catalog.urls")),
    path("api/v1/", include("homepage.urls")),
    path("", include("merchandising.urls")),
]

handler400 = api_errors.bad_request
handler404 = api_errors.not_found
handler500 = api_errors.server_error
