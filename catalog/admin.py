from django.contrib import admin, messages

from . import services
from .models import ApiKey, Event, Item, Shop, Shopper


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "prefix", "revoked", "created_at", "last_used_at"]
    list_filter = ["shop", "revoked"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        return ["shop", "name", "revoked", "prefix", "created_at", "last_used_at"] if obj else ["shop", "name"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        api_key, raw_key = services.api_key_create(shop=obj.shop, name=obj.name)
        obj.pk = api_key.pk
        messages.warning(request, f"API key for {api_key.shop}: {raw_key} — copy it now, it is not shown again.")


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "title", "brand", "category_path", "price", "available", "interaction_count", "shop"]
    list_filter = ["shop", "available"]
    search_fields = ["external_id", "title", "brand", "category_path"]
    readonly_fields = ["content_hash", "interaction_count", "created_at", "updated_at"]
    list_select_related = ["shop"]
    show_full_result_count = False


@admin.register(Shopper)
class ShopperAdmin(admin.ModelAdmin):
    list_display = ["external_id", "shop", "personalization_opt_out", "created_at"]
    list_filter = ["shop", "personalization_opt_out"]
    search_fields = ["external_id"]
    list_select_related = ["shop"]
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record written by services alone: listed and read in the admin, never added, edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The event log is the storefront's record: it is read here, never edited."""

    list_display = ["event_id", "type", "shopper", "item", "occurred_at", "shop"]
    list_filter = ["shop", "type"]
    search_fields = ["event_id", "shopper__external_id", "item__external_id", "query"]
    date_hierarchy = "occurred_at"
    list_select_related = ["shop", "shopper", "item"]
    show_full_result_count = False
