from django.contrib import admin, messages
from django.db import transaction

from . import services
from .models import ItemEmbedding, ModelVersion, ShopperProfile
from .selectors import active_version
from .services.registry import VersionNotServable
from .signals import version_promoted


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "id", "shop", "status", "is_active", "held_back", "device", "wall_seconds", "ndcg_10", "created_at"]
    list_filter = ["shop", "family", "status", "is_active"]
    readonly_fields = [field.name for field in ModelVersion._meta.fields]
    actions = ["promote"]

    @admin.display(description="Version", ordering="number")
    def version(self, version):
        return version.label

    @admin.display(description="NDCG@10")
    def ndcg_10(self, version):
        value = version.metrics.get("ndcg_10")
        return f"{value:.4f}" if value is not None else "—"

    def has_add_permission(self, request):
        return False

    @admin.action(description="Serve the selected version (promote)")
    def promote(self, request, queryset):
        for version in queryset:
            serving = active_version(shop=version.shop, family=version.family)
            try:
                with transaction.atomic():
                    services.version_promote(version=version)
                    if serving != version:  # the audit log hears of it
                        version_promoted.send(sender=ModelVersion, version=version, serving_before=serving, actor=request.user)
                messages.success(request, f"{version} now serves.")
            except VersionNotServable as error:
                messages.error(request, str(error))


@admin.register(ItemEmbedding)
class ItemEmbeddingAdmin(admin.ModelAdmin):
    list_display = ["item", "encoder", "updated_at"]
    search_fields = ["item__title", "item__external_id"]
    readonly_fields = ["item", "encoder", "text_hash", "updated_at"]
    exclude = ["vector"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


@admin.register(ShopperProfile)
class ShopperProfileAdmin(admin.ModelAdmin):
    list_display = ["shopper", "tags", "updated_at"]
    search_fields = ["shopper__external_id"]
    readonly_fields = ["shopper", "tags", "updated_at"]
