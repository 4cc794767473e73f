from django.urls import include, path

from .views import audit, campaigns, drafts, experiments, models, overview, pins, preview, rails, rules, shell

console = [
    path("", overview.overview, name="console-overview"),
    path("items/search/", shell.items_search, name="console-items-search"),
    path("audit/", include(audit.urlpatterns)),
    path("rails/", include(rails.urlpatterns)),
    path("pins/", include(pins.urlpatterns)),
    path("rules/", include(rules.urlpatterns)),
    path("campaigns/", include(campaigns.urlpatterns)),
    path("preview/", include(preview.urlpatterns)),
    path("draft/", include(drafts.urlpatterns)),
    path("models/", include(models.urlpatterns)),
    path("experiments/", include(experiments.urlpatterns)),
]

urlpatterns = [
    path("", overview.root, name="root"),
    path("console/", include(console)),
]
