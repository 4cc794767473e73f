from django.contrib import admin, messages

from . import selectors, services
from .bounds import event_window, event_window_text
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

    def get_deleted_objects(self, objs, request):
        # Django's confirmation lists every related event, reading each in full: one dated year 1 BC cannot be
        # read, and a shopper may have thousands. The shoppers are listed and their events counted instead.
        shoppers = list(objs)
        events = Event.objects.filter(shopper__in=shoppers).count()
        perms_needed = set()
        if events and not self.admin_site.get_model_admin(Event).has_delete_permission(request):
            perms_needed.add(Event._meta.verbose_name)
        deleted = [f"{Shopper._meta.verbose_name.capitalize()}: {shopper}" for shopper in shoppers]
        if events:
            deleted.append(f"{events} {Event._meta.verbose_name_plural}")
        counts = {Shopper._meta.verbose_name_plural: len(shoppers), Event._meta.verbose_name_plural: events}
        return deleted, counts, perms_needed, []


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
    """The event log is the storefront's record: it is read here, never edited.

    Events dated outside catalog.bounds' window are not listed (Python cannot read year 1 BC or 'infinity'):
    the list says how many there are, and `manage.py repair_data` repairs them.
    """

    list_display = ["event_id", "type", "shopper", "item", "occurred_at", "shop"]
    list_filter = ["shop", "type"]
    search_fields = ["event_id", "shopper__external_id", "item__external_id", "query"]
    date_hierarchy = "occurred_at"
    list_select_related = ["shop", "shopper", "item"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(occurred_at__range=event_window())

    def changelist_view(self, request, extra_context=None):
        hidden = selectors.events_out_of_window(shop=None).count()
        if hidden:
            messages.warning(
                request,
                f"{hidden} event(s) dated outside {event_window_text()} are not listed; "
                "`manage.py repair_data` repairs them.",
            )
        return super().changelist_view(request, extra_context)
