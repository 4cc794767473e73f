from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions

from .models import ApiKey
from .services import api_key_authenticate
from .throttling import failed_authentications_limited

HELP = "Send the header 'Authorization: Token <key>' with a key of your shop (python manage.py create_api_token)."


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """A storefront authenticates as its shop: request.auth is the ApiKey, request.auth.shop scopes everything."""

    keyword = "Token"

    @failed_authentications_limited
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        if keyword != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed(f"Malformed Authorization header. {HELP}")
        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        return self.keyword


class HasShopApiKey(permissions.BasePermission):
    message = f"Authentication required. {HELP}"

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)
