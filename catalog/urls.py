from django.urls import path

from . import api

urlpatterns = [
    path("items", api.ItemBatchApi.as_view(), name="api-items"),
    path("items/<extid:external_id>", api.ItemDetailApi.as_view(), name="api-item"),
    path("events", api.EventBatchApi.as_view(), name="api-events"),
    path(
        "shoppers/<extid:external_id>/personalization", api.ShopperPersonalizationApi.as_view(),
        name="api-shopper-personalization",
    ),
    # Last: its id may hold '/' (shoppers stored before ids were checked), so it would shadow longer routes.
    path("shoppers/<storedid:external_id>", api.ShopperDetailApi.as_view(), name="api-shopper"),
]
