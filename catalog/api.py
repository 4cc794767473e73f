from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import EventType

# The serializers below document the wire format; records are validated by catalog.validation,
# which checks a batch of 1,000 in milliseconds and keeps per-record errors.


class ItemSerializer(serializers.Serializer):
    item_id = serializers.CharField(source="external_id", max_length=128)
    title = serializers.CharField(max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(source="category_path", required=False, help_text="Path from the root, '>'-separated: 'Makeup > Nails'.")
    brand = serializers.CharField(required=False, max_length=200)
    price = serializers.DecimalField(required=False, allow_null=True, max_digits=12, decimal_places=2)
    currency = serializers.CharField(required=False, max_length=3, help_text="ISO 4217, e.g. EUR.")
    image_url = serializers.URLField(required=False)
    available = serializers.BooleanField(required=False, default=True)
    attributes = serializers.DictField(required=False)


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=128, help_text="Your id; resending it stores nothing new.")
    shopper_id = serializers.CharField(max_length=128)
    item_id = serializers.CharField(required=False, max_length=128, help_text="Required except for searches.")
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; without an offset it is taken as UTC.")
    value = serializers.FloatField(required=False, allow_null=True, help_text="Rating or quantity.")
    query = serializers.CharField(required=False, max_length=500, help_text="Required for searches.")
    session_id = serializers.CharField(required=False, max_length=128)
    context = serializers.DictField(
        required=False, help_text="Send back request_id, rail and slot of the homepage item the shopper acted on."
    )


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Valid records (duplicates included).")
    duplicates = serializers.IntegerField(help_text="Events already stored under the same event_id.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Items whose content changed.")
    unchanged = serializers.IntegerField(help_text="Items sent again with the same content.")
    rejected = inline_serializer(
        "RejectedRecord",
        {"index": serializers.IntegerField(), "id": serializers.CharField(allow_null=True), "errors": serializers.DictField()},
        many=True,
    )


ITEM_FIELDS_OUT = ("created", "updated", "unchanged")
EVENT_FIELDS_OUT = ("created", "duplicates")


def _batch(request) -> list:
    body = request.data
    if not isinstance(body, list):
        raise ValidationError("Send a JSON list of records.", code="not_a_list")
    if not body:
        raise ValidationError("The list is empty.", code="empty_batch")
    if len(body) > settings.VITRINE_MAX_BATCH:
        raise ValidationError(
            f"{len(body)} records; send at most {settings.VITRINE_MAX_BATCH} a request.", code="batch_too_large"
        )
    return body


def _batch_response(result: services.BatchResult, fields: tuple[str, ...]) -> Response:
    body = {"accepted": result.accepted, **{name: getattr(result, name) for name in fields}, "rejected": result.rejected}
    return Response(body, status=status.HTTP_200_OK)


class ItemBatchApi(APIView):
    @extend_schema(
        request=ItemSerializer(many=True),
        responses=BatchResultSerializer,
        summary="Create or update up to 1,000 items",
        description=(
            "Upsert by item_id. Each item is validated on its own: valid items are stored even when others fail, "
            "and `rejected` lists the errors by index. 200 for any well-formed batch; 400 when the body is not a "
            "list of 1 to 1,000 records."
        ),
    )
    def post(self, request):
        result = services.item_batch_upsert(shop=request.auth.shop, items=_batch(request))
        return _batch_response(result, ITEM_FIELDS_OUT)


class EventBatchApi(APIView):
    @extend_schema(
        request=EventSerializer(many=True),
        responses=BatchResultSerializer,
        summary="Record up to 1,000 shopper events",
        description=(
            "Each event is validated on its own: valid events are stored even when others fail, and `rejected` "
            "lists the errors by index. An event_id already stored counts in `duplicates` and is not stored twice. "
            "Unknown shoppers are created; an unknown item_id is rejected. 200 for any well-formed batch; 400 when "
            "the body is not a list of 1 to 1,000 records."
        ),
        examples=[
            OpenApiExample(
                "A view",
                value=[{"event_id": "e-1", "shopper_id": "s-42", "item_id": "B004756YJA", "type": "view",
                        "occurred_at": "2026-11-23T09:30:00Z"}],
                request_only=True,
            )
        ],
    )
    def post(self, request):
        result = services.event_batch_ingest(shop=request.auth.shop, events=_batch(request))
        return _batch_response(result, EVENT_FIELDS_OUT)


class ItemDetailApi(APIView):
    @extend_schema(responses=ItemSerializer, summary="Read one item as Vitrine holds it")
    def get(self, request, external_id: str):
        item = selectors.item_get(shop=request.auth.shop, external_id=external_id)
        if item is None:
            raise NotFound(f"No item '{external_id}' in this shop.")
        return Response(ItemSerializer(item).data)


class ShopperDetailApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Erase a shopper and all their events")
    def delete(self, request, external_id: str):
        if not services.shopper_erase(shop=request.auth.shop, external_id=external_id):
            raise NotFound(f"No shopper '{external_id}' in this shop.")
        return Response(status=status.HTTP_204_NO_CONTENT)
