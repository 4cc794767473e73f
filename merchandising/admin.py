from django.contrib import admin

from catalog.admin import ReadOnlyAdmin
from homepage.cache import homepage_rules_changed

from .models import Adjustment, AuditEntry, Block, Campaign, Draft, DraftChange, Membership, Pin, Rail
from .services import audit_record, rule_shop, rule_state


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "created_at"]
    list_filter = ["shop"]
    search_fields = ["user__username", "shop__slug"]
    autocomplete_fields = ["user", "shop"]


class RuleAdmin(admin.ModelAdmin):
    """Admin edits are audit-logged and mark the shop's cached homepages stale, as the rule services do."""

    def _logged(self, request, obj, action: str, before: dict | None, after: dict | None) -> None:
        shop = rule_shop(obj)
        audit_record(shop=shop, actor=request.user, action=f"admin_{action}", rule=obj, before=before, after=after)
        homepage_rules_changed(shop=shop)

    def save_model(self, request, obj, form, change):
        before = rule_state(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        self._logged(request, obj, "change" if change else "add", before, rule_state(obj))

    def delete_model(self, request, obj):
        before, pk = rule_state(obj), obj.pk
        super().delete_model(request, obj)
        obj.pk = pk
        self._logged(request, obj, "delete", before, None)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


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
        audit_record(
            shop=form.instance.shop, actor=request.user, action="admin_pins_change", rule=form.instance,
            after={"pins": [rule_state(pin) for pin in form.instance.pins.all()]},
        )
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


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The log is written by the services alone: read-only here."""

    list_display = ["created_at", "shop", "user", "action", "object_repr"]
    list_filter = ["shop", "action"]
    search_fields = ["object_repr", "user__username", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["shop", "user"]


class DraftChangeInline(admin.TabularInline):
    model = DraftChange
    extra = 0
    fields = ["operation", "summary", "arguments", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ["__str__", "shop", "author", "created_at", "published_at", "discarded_at"]
    list_filter = ["shop"]
    readonly_fields = ["shop", "author", "created_at", "published_at", "discarded_at"]
    inlines = [DraftChangeInline]
