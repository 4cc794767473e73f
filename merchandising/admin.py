from django.contrib import admin

from homepage.cache import homepage_rules_changed

from .models import Adjustment, Block, Campaign, Membership, Pin, Rail


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "created_at"]
    list_filter = ["shop"]
    search_fields = ["user__username", "shop__slug"]
    autocomplete_fields = ["user", "shop"]


class RuleAdmin(admin.ModelAdmin):
    """Admin edits mark the shop's cached homepages stale, as the rule services do."""

    def _shop(self, obj):
        return obj.rail.shop if isinstance(obj, Pin) else obj.shop

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        homepage_rules_changed(shop=self._shop(obj))

    def delete_model(self, request, obj):
        shop = self._shop(obj)
        super().delete_model(request, obj)
        homepage_rules_changed(shop=shop)

    def delete_queryset(self, request, queryset):
        shops = {self._shop(obj) for obj in queryset}
        super().delete_queryset(request, queryset)
        for shop in shops:
            homepage_rules_changed(shop=shop)


class PinInline(admin.TabularInline):
    model = Pin
    extra = 0
    fields = ["item", "slot", "starts_at", "ends_at", "campaign", "note"]
    autocomplete_fields = ["item"]


@admin.register(Rail)
class RailAdmin(RuleAdmin):
    list_display = ["key", "shop", "kind", "title", "position", "size", "enabled", "diversity", "exploration_share"]
    list_filter = ["shop", "kind", "enabled"]
    list_editable = ["position", "enabled"]
    search_fields = ["key", "title", "shop__slug"]
    ordering = ["shop", "position"]
    inlines = [PinInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        homepage_rules_changed(shop=form.instance.shop)


@admin.register(Campaign)
class CampaignAdmin(RuleAdmin):
    list_display = ["name", "shop", "starts_at", "ends_at", "banner_title"]
    list_filter = ["shop", "starts_at"]
    search_fields = ["name", "banner_title", "shop__slug"]
    date_hierarchy = "starts_at"


@admin.register(Pin)
class PinAdmin(RuleAdmin):
    list_display = ["item", "rail", "slot", "starts_at", "ends_at", "campaign"]
    list_filter = ["rail__shop", "rail", "campaign"]
    search_fields = ["item__title", "item__external_id", "rail__key", "note"]
    autocomplete_fields = ["item", "campaign"]
    list_select_related = ["item", "rail", "campaign"]


@admin.register(Adjustment)
class AdjustmentAdmin(RuleAdmin):
    list_display = ["__str__", "shop", "target", "multiplier", "starts_at", "ends_at", "campaign"]
    list_filter = ["shop", "target", "campaign"]
    search_fields = ["item__title", "item__external_id", "category", "brand", "attribute_key", "attribute_value", "note"]
    autocomplete_fields = ["item", "campaign"]
    list_select_related = ["item", "campaign"]


@admin.register(Block)
class BlockAdmin(RuleAdmin):
    list_display = ["__str__", "shop", "item", "category", "brand", "starts_at", "ends_at", "campaign"]
    list_filter = ["shop", "campaign"]
    search_fields = ["item__title", "item__external_id", "category", "brand", "note"]
    autocomplete_fields = ["item", "campaign"]
    list_select_related = ["item", "campaign"]
