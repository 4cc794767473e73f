from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import EventType
from .validation import (
    EVENT_TEXT_MAX, ID_MAX_LENGTH, ID_PATTERN, ID_RULE, ITEM_TEXT_MAX, MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_QUANTITY,
    RecordInvalid,
)

# The serializers below document the wire format; records are validated by catalog.validation,
# which checks a batch of 1,000 in milliseconds and keeps per-record errors.
FREE_FORM_LIMITS = f"A JSON object of at most {MAX_JSON_DEPTH} levels and {MAX_JSON_BYTES:,} bytes."


def _id_field(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(f"^{ID_PATTERN.pattern}$", max_length=ID_MAX_LENGTH, **{"help_text": ID_RULE, **kwargs})


class ItemSerializer(serializers.Serializer):
    item_id = _id_field(source="external_id")
    title = serializers.CharField(max_length=ITEM_TEXT_MAX["title"])
    description = serializers.CharField(required=False, allow_blank=True, max_length=ITEM_TEXT_MAX["description"])
    category = serializers.CharField(
        source="category_path", required=False, max_length=ITEM_TEXT_MAX["category"], help_text="Path from the root, '>'-separated: 'Makeup > Nails'."
    )
    brand = serializers.CharField(required=False, max_length=ITEM_TEXT_MAX["brand"])
    price = serializers.DecimalField(required=False, allow_null=True, max_digits=12, decimal_places=2)
    currency = serializers.CharField(required=False, max_length=3, help_text="ISO 4217, e.g. EUR.")
    image_url = serializers.URLField(required=False, max_length=ITEM_TEXT_MAX["image_url"])
    available = serializers.BooleanField(required=False, default=True)
    attributes = serializers.DictField(required=False, help_text=FREE_FORM_LIMITS)


class EventSerializer(serializers.Serializer):
    event_id = _id_field(help_text=f"Your id ({ID_RULE}); resending it stores nothing new.")
    shopper_id = _id_field()
    item_id = _id_field(required=False, help_text=f"Required except for searches; {ID_RULE}.")
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is taken as UTC. From 2000-01-01 to a day from now (settings)."
    )
    value = serializers.FloatField(
        required=False, allow_null=True,
        help_text=f"A rating's score, required for ratings (0 to 5 unless configured); else a quantity, 0 to {MAX_QUANTITY:,}.",
    )
    query = serializers.CharField(required=False, max_length=EVENT_TEXT_MAX["query"], help_text="Required for searches.")
    session_id = serializers.CharField(required=False, max_length=EVENT_TEXT_MAX["session_id"])
    context = serializers.DictField(
        required=False,
        help_text=f"Send back request_id, rail and slot of the homepage item the shopper acted on. {FREE_FORM_LIMITS}",
    )


REJECTED_OUT = inline_serializer(
    "RejectedRecord",
    {"index": serializers.IntegerField(), "id": serializers.CharField(allow_null=True), "errors": serializers.DictField()},
    many=True,
)


class ItemBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Valid records.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Items whose content changed.")
    unchanged = serializers.IntegerField(help_text="Items sent again with the same content.")
    rejected = REJECTED_OUT


class EventBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Valid records (duplicates included).")
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Events already stored under the same event_id.")
    rejected = REJECTED_OUT


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
        responses=ItemBatchResultSerializer,
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
        responses=EventBatchResultSerializer,
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


class ShopperPersonalizationApi(APIView):
    class InputSerializer(serializers.Serializer):
        opted_out = serializers.BooleanField(
            help_text="true: pages that are not personalized, and the shopper's events feed no model; false: back in."
        )

    class OutputSerializer(serializers.Serializer):
        shopper_id = serializers.CharField()
        opted_out = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Opt a shopper out of personalization, or back in",
        description=(
            "Takes effect at once: the shopper's cached pages are deleted, and an opted-out shopper is served pages "
            "that are not personalized. From the next training run on, an opted-out shopper's events feed no model. "
            "An unknown shopper is created with the choice, so it holds from their first event."
        ),
        examples=[OpenApiExample("Opt out", value={"opted_out": True}, request_only=True)],
    )
    def put(self, request, external_id: str):
        body = request.data
        # Strict: a consent flag given as "false" or 0 must not be read as a choice the shopper did not make.
        if not isinstance(body, dict) or set(body) != {"opted_out"} or not isinstance(body["opted_out"], bool):
            raise ValidationError('Send a JSON object {"opted_out": true} or {"opted_out": false}.', code="invalid_opt_out")
        try:
            shopper = services.shopper_personalization_set(
                shop=request.auth.shop, external_id=external_id, opted_out=body["opted_out"]
            )
        except RecordInvalid as invalid:
            raise ValidationError(invalid.errors["shopper_id"], code="invalid_shopper_id") from None
        return Response({"shopper_id": shopper.external_id, "opted_out": shopper.personalization_opt_out})


class ShopperDetailApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="Erase a shopper and all their events",
        description=(
            "Deletes the shopper, every event of theirs and their interest tags, and their cached pages and "
            "candidates at once; the next training run learns nothing of them."
        ),
    )
    def delete(self, request, external_id: str):
        if not services.shopper_erase(shop=request.auth.shop, external_id=external_id):
            raise NotFound(f"No shopper '{external_id}' in this shop.")
        return Response(status=status.HTTP_204_NO_CONTENT)
