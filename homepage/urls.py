from django.urls import path

from . import api

urlpatterns = [
    path("homepage/<extid:shopper_id>", api.HomepageApi.as_view(), name="api-homepage"),
    path("items/<extid:external_id>/similar", api.SimilarItemsApi.as_view(), name="api-item-similar"),
    path("recommendations/<extid:shopper_id>", api.RecommendationsApi.as_view(), name="api-recommendations"),
]
