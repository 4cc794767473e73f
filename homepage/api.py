from functools import cache

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from catalog.validation import identifier_problem

from . import services

MAX_EXCLUDE = 500


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class CommaListField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        values = _comma_list(super().to_internal_value(data))
        if len(values) > MAX_EXCLUDE:
            raise ValidationError(f"At most {MAX_EXCLUDE} values.")
        # Checked here, not by CharField's validators: they see the list, and a NUL would reach PostgreSQL.
        for value in values:
            problem = identifier_problem(value)
            if problem:
                raise ValidationError(problem)
        return values


ITEM_OUT = inline_serializer(
    "ServedItem",
    {
        "item_id": serializers.CharField(),
        "title": serializers.CharField(),
        "image_url": serializers.CharField(),
        "price": serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True),
        "rail": serializers.CharField(help_text="Send back in event context, with request_id and slot."),
        "slot": serializers.IntegerField(help_text="1-based position in its rail."),
        "reason": serializers.CharField(help_text="Why the shopper sees it, e.g. 'Because you viewed OPI Nail Lacquer'."),
    },
    many=True,
)
ARM_OUT = {
    "experiment": serializers.IntegerField(
        allow_null=True, help_text="The id of the experiment this shopper is in; null when in none."
    ),
    "variant": serializers.CharField(
        allow_null=True, help_text='The key of the experiment\'s variant served, e.g. "control" or "b"; null when in none.'
    ),
}
SHOPPER_OUT = inline_serializer(
    "ServedShopper",
    {
        "known": serializers.BooleanField(help_text="False: an id with no events yet; the cold-start page."),
        "personalized": serializers.BooleanField(help_text="False for unknown and opted-out shoppers."),
    },
)


def _query(serializer_class, request):
    if not request.query_params:
        return dict(_query_defaults(serializer_class))
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@cache
def _query_defaults(serializer_class) -> dict:
    # Most storefront requests send no parameters: building a serializer (a deep copy of its fields) for
    # them costs more than the cached page they ask for.
    serializer = serializer_class(data={})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class HomepageApi(APIView):
    class InputSerializer(serializers.Serializer):
        rails = CommaListField(required=False, help_text="Comma-separated rail keys; default every enabled rail.")
        size = serializers.IntegerField(required=False, min_value=1, max_value=50, help_text="Items per rail (1 to 50).")
        exclude = CommaListField(required=False, help_text="Comma-separated item ids the storefront already shows.")
        page = serializers.IntegerField(required=False, min_value=1, max_value=20, default=1,
                                        help_text="Next items of one rail: needs rails=<one key>.")

    @extend_schema_serializer(component_name="Homepage")
    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField(help_text="Send back in the context of events on these items.")
        generated_at = serializers.DateTimeField()
        experiment = ARM_OUT["experiment"]
        variant = ARM_OUT["variant"]
        shopper = SHOPPER_OUT
        rails = inline_serializer(
            "ServedRail",
            {
                "key": serializers.CharField(),
                "title": serializers.CharField(),
                "kind": serializers.CharField(),
                "banner": inline_serializer(
                    "Banner",
                    {"title": serializers.CharField(), "image_url": serializers.CharField(), "link_url": serializers.CharField()},
                    required=False,
                ),
                "items": ITEM_OUT,
            },
            many=True,
        )

    @extend_schema(
        parameters=[InputSerializer],
        responses=OutputSerializer,
        summary="A shopper's homepage: rails of items, each with a reason",
        description=(
            "Rails in page order; no item appears twice. An unknown shopper id gets the cold-start page (and is not "
            "created); an opted-out shopper gets a non-personalized page. A new event for the shopper changes the "
            "next page at once. Send `request_id`, `rail` and `slot` back in the `context` of the events that follow. "
            "`page` > 1 returns the next items of the one rail named in `rails`, never its earlier items. "
            "400 for invalid parameters or unknown rail keys."
        ),
    )
    def get(self, request, shopper_id: str):
        params = _query(self.InputSerializer, request)
        try:
            body = services.homepage_serve(
                shop=request.auth.shop, shopper_external_id=shopper_id, rail_keys=params.get("rails") or None,
                size=params.get("size"), exclude=params.get("exclude"), page=params["page"],
            )
        except services.PageRequestInvalid as invalid:
            raise ValidationError(str(invalid), code=invalid.code) from invalid
        return HttpResponse(body, content_type="application/json")


class SimilarItemsApi(APIView):
    class InputSerializer(serializers.Serializer):
        k = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)

    @extend_schema_serializer(component_name="SimilarItems")
    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField()
        generated_at = serializers.DateTimeField()
        item_id = serializers.CharField()
        items = ITEM_OUT

    @extend_schema(
        parameters=[InputSerializer],
        responses=OutputSerializer,
        summary="Items like one item (text and co-engagement)",
        description="Available, unblocked items close in text or engaged with by the same shoppers. 404 for an unknown item.",
    )
    def get(self, request, external_id: str):
        params = _query(self.InputSerializer, request)
        item = catalog_selectors.item_get(shop=request.auth.shop, external_id=external_id)
        if item is None:
            raise NotFound(f"No item '{external_id}' in this shop.")
        return Response(services.similar_items_serve(shop=request.auth.shop, item=item, k=params["k"]))


class RecommendationsApi(APIView):
    class InputSerializer(serializers.Serializer):
        k = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
        exclude = CommaListField(required=False, help_text="Comma-separated item ids the storefront already shows.")

    @extend_schema_serializer(component_name="Recommendations")
    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField()
        generated_at = serializers.DateTimeField()
        experiment = ARM_OUT["experiment"]
        variant = ARM_OUT["variant"]
        shopper = SHOPPER_OUT
        rail = serializers.CharField(help_text="The for_you rail whose ranking this is; send it back in event context.")
        items = ITEM_OUT

    @extend_schema(
        parameters=[InputSerializer],
        responses=OutputSerializer,
        summary="A shopper's top-k recommendations (the for-you ranking, flat)",
    )
    def get(self, request, shopper_id: str):
        params = _query(self.InputSerializer, request)
        body = services.recommendations_serve(
            shop=request.auth.shop, shopper_external_id=shopper_id, k=params["k"], exclude=params.get("exclude")
        )
        return Response(body)
