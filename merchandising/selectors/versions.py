"""The Models page: a family's versions."""


from catalog.models import Shop
from recommender.models import ModelVersion


VERSION_HISTORY = 30


def model_versions(*, shop: Shop, family: str, limit: int = VERSION_HISTORY) -> list[ModelVersion]:
    """The family's latest versions, oldest first: the order they are charted in."""
    newest = ModelVersion.objects.filter(shop=shop, family=family).defer("history").order_by("-created_at", "-pk")[:limit]
    return list(reversed(newest))


def model_version(*, shop: Shop, pk: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, pk=pk).first()


def model_version_latest(*, shop: Shop, family: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(shop=shop, family=family).defer("history").order_by("-created_at", "-pk").first()
