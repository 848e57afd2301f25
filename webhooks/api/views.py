"""REST endpoints of a team's webhooks and their delivery log; team admins only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import find_team
from registry_site.api import ERRORS, Pages, RegistryView, checked, paginated
from webhooks import services
from webhooks.api import serializers as s
from webhooks.models import Webhook

TAGS = ["webhooks"]


def _webhook(request: Request, team: str, webhook_id: int) -> Webhook:
    return services.find_webhook(request.user, find_team(request.user, team), webhook_id)


class WebhookList(RegistryView):
    @extend_schema(
        tags=TAGS, responses={200: s.WebhookOut(many=True), **ERRORS}, operation_id="webhooks_list"
    )
    def get(self, request: Request, team: str) -> Response:
        found = services.webhooks_of(request.user, find_team(request.user, team))
        return Response([s.webhook_out(w) for w in found])

    @extend_schema(
        tags=TAGS,
        request=s.WebhookIn,
        responses={201: s.WebhookWithSecret, **ERRORS},
        description="The answer carries the secret: the only read that shows it.",
    )
    def post(self, request: Request, team: str) -> Response:
        found = find_team(request.user, team)
        data = checked(s.WebhookIn, request.data)
        webhook = services.create_webhook(request.user, found, **data)
        return Response(s.webhook_out(webhook, with_secret=True), status=status.HTTP_201_CREATED)


class WebhookDetail(RegistryView):
    @extend_schema(tags=TAGS, responses={200: s.WebhookOut, **ERRORS})
    def get(self, request: Request, team: str, webhook_id: int) -> Response:
        return Response(s.webhook_out(_webhook(request, team, webhook_id)))

    @extend_schema(tags=TAGS, request=s.WebhookPatch, responses={200: s.WebhookOut, **ERRORS})
    def patch(self, request: Request, team: str, webhook_id: int) -> Response:
        webhook = _webhook(request, team, webhook_id)
        data = checked(s.WebhookPatch, request.data)
        return Response(s.webhook_out(services.update_webhook(request.user, webhook, **data)))

    @extend_schema(tags=TAGS, responses={204: None, **ERRORS})
    def delete(self, request: Request, team: str, webhook_id: int) -> Response:
        services.delete_webhook(request.user, _webhook(request, team, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecret(RegistryView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={200: s.WebhookWithSecret, **ERRORS},
        description="A new secret, shown in this answer only; every delivery sent from "
        "now on is signed with it.",
    )
    def post(self, request: Request, team: str, webhook_id: int) -> Response:
        webhook = services.rotate_secret(request.user, _webhook(request, team, webhook_id))
        return Response(s.webhook_out(webhook, with_secret=True))


class Ping(RegistryView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={201: s.DeliveryOut, **ERRORS},
        description="Queue a `ping` event for this webhook alone, to try its receiver.",
    )
    def post(self, request: Request, team: str, webhook_id: int) -> Response:
        delivery = services.send_test(request.user, _webhook(request, team, webhook_id))
        return Response(s.delivery_out(delivery), status=status.HTTP_201_CREATED)


class DeliveryList(RegistryView):
    @extend_schema(
        tags=TAGS,
        responses={200: paginated(s.DeliveryOut), **ERRORS},
        operation_id="webhook_deliveries_list",
        description="Newest first, each with every attempt to send it.",
    )
    def get(self, request: Request, team: str, webhook_id: int) -> Response:
        webhook = _webhook(request, team, webhook_id)
        pages = Pages()
        page = pages.paginate_queryset(services.deliveries_of(webhook), request, view=self)
        return pages.get_paginated_response([s.delivery_out(d) for d in page])


class Redeliver(RegistryView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={200: s.DeliveryOut, **ERRORS},
        description="Send the delivery again, with the same body, as soon as a worker is free.",
    )
    def post(self, request: Request, team: str, webhook_id: int, delivery_id: int) -> Response:
        webhook = _webhook(request, team, webhook_id)
        delivery = services.find_delivery(webhook, delivery_id)
        delivery = services.redeliver(request.user, delivery)
        return Response(s.delivery_out(services.deliveries_of(webhook).get(pk=delivery.pk)))
