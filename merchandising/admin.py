from django.contrib import admin

from .models import Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "created_at"]
    list_filter = ["shop"]
    search_fields = ["user__username", "shop__slug"]
    autocomplete_fields = ["user", "shop"]
