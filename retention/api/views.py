"""The core's API (API.md "Customers, orders, events" and "Segments"): parse, call one service, serialise."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from retention.actors import Actor
from retention.api import serializers as s
from retention.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from retention.errors import NotFound
from retention.http import client_ip
from retention.models import Customer, Order, Segment
from retention.queries import customer_by_source_id
from retention.segments import customers_in, segment_count
from retention.services.customers import upsert_customer
from retention.services.events import record_event
from retention.services.gdpr import erase_customer, export_customer
from retention.services.orders import record_order
from retention.services.segments import create_segment, delete_segment, update_segment

ERRORS = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


def get_customer(source_id: str) -> Customer:
    customer = customer_by_source_id(source_id)
    if customer is None:
        raise NotFound(f"No customer with source_id {source_id!r}.")
    return customer


class CustomerView(APIView):
    @extend_schema(request=s.CustomerInputSerializer,
                   responses={200: s.CustomerOutputSerializer, 201: s.CustomerOutputSerializer, **ERRORS},
                   summary="Create or update a customer (201 created, 200 updated)")
    def put(self, request, source_id: str):
        serializer = s.CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _customer, created = upsert_customer(
            source_id=source_id, data=serializer.validated_data, actor=Actor.for_api_key(request.auth),
            ip_address=client_ip(request), user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(s.CustomerOutputSerializer(get_customer(source_id)).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={200: s.CustomerOutputSerializer, **ERRORS}, summary="A customer")
    def get(self, request, source_id: str):
        return Response(s.CustomerOutputSerializer(get_customer(source_id)).data)

    @extend_schema(responses={204: None, **ERRORS}, summary="Erase a customer's personal data (GDPR)")
    def delete(self, request, source_id: str):
        erase_customer(customer=get_customer(source_id), actor=Actor.for_api_key(request.auth))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerExportView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Everything held about a customer (GDPR access)")
    def get(self, request, source_id: str):
        return Response(export_customer(customer=get_customer(source_id), actor=Actor.for_api_key(request.auth)))


class OrderCreateView(APIView):
    @extend_schema(request=s.OrderInputSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={200: s.OrderOutputSerializer, 201: s.OrderOutputSerializer, 409: OpenApiTypes.OBJECT,
                              422: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Record an order, or a status change of a known one (200)")
    @idempotent
    def post(self, request):
        serializer = s.OrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order, created = record_order(data=serializer.validated_data, actor=Actor.for_api_key(request.auth))
        order = Order.objects.select_related("customer").prefetch_related("items").get(pk=order.pk)
        return Response(s.OrderOutputSerializer(order).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class EventCreateView(APIView):
    @extend_schema(request=s.EventInputSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: s.EventOutputSerializer, 200: s.EventOutputSerializer, 409: OpenApiTypes.OBJECT,
                              **ERRORS},
                   summary="Record a custom event (200 when its id was recorded before)")
    @idempotent
    def post(self, request):
        serializer = s.EventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        event, created = record_event(
            customer=get_customer(data["customer"]), type=data["type"],
            occurred_at=data.get("occurred_at") or timezone.now(), properties=data["properties"],
            event_id=data.get("id") or None, actor=Actor.for_api_key(request.auth),
        )
        return Response(s.EventOutputSerializer(event).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def segment_data(segment: Segment, unknown_members: list[str] | None = None) -> dict:
    segment.count = segment_count(segment)
    if unknown_members is not None:
        segment.unknown_members = unknown_members
    return s.SegmentOutputSerializer(segment).data


class SegmentListView(APIView):
    @extend_schema(responses={200: s.SegmentOutputSerializer(many=True), 401: OpenApiTypes.OBJECT},
                   summary="Segments, each with its count")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(Segment.objects.order_by("name", "id"), request, view=self)
        return paginator.get_paginated_response([segment_data(segment) for segment in page])

    @extend_schema(request=s.SegmentInputSerializer, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: s.SegmentOutputSerializer, 409: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Create a segment: rules (dynamic) or members (static)")
    @idempotent
    def post(self, request):
        serializer = s.SegmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        is_static = "members" in data
        segment, unknown = create_segment(
            name=data["name"], slug=data["slug"], match=data["match"], rules=[] if is_static else data["rules"],
            kind="static" if is_static else "dynamic", members=data.get("members"), description=data["description"],
            actor=Actor.for_api_key(request.auth),
        )
        return Response(segment_data(segment, unknown if is_static else None), status=status.HTTP_201_CREATED)


class SegmentDetailView(APIView):
    @extend_schema(responses={200: s.SegmentOutputSerializer, **ERRORS}, summary="A segment with its count")
    def get(self, request, slug: str):
        return Response(segment_data(get_object_or_404(Segment, slug=slug)))

    @extend_schema(request=s.SegmentPatchSerializer, responses={200: s.SegmentOutputSerializer, **ERRORS},
                   summary="Change a segment (members replace a static segment's list)")
    def patch(self, request, slug: str):
        segment = get_object_or_404(Segment, slug=slug)
        serializer = s.SegmentPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        members = data.pop("members", None)
        segment, unknown = update_segment(segment=segment, members=members, actor=Actor.for_api_key(request.auth),
                                          **data)
        return Response(segment_data(segment, unknown if members is not None else None))

    @extend_schema(responses={204: None, 422: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Delete a segment (422 segment_in_use while a campaign uses it)")
    def delete(self, request, slug: str):
        delete_segment(segment=get_object_or_404(Segment, slug=slug), actor=Actor.for_api_key(request.auth))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentCustomersView(APIView):
    @extend_schema(responses={200: s.CustomerOutputSerializer(many=True), **ERRORS}, summary="A segment's members")
    def get(self, request, slug: str):
        segment = get_object_or_404(Segment, slug=slug)
        customers = customers_in(segment).prefetch_related("tags").order_by("source_id")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(customers, request, view=self)
        return paginator.get_paginated_response(s.CustomerOutputSerializer(page, many=True).data)
