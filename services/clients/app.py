"""The clients service: client profiles, the corporate tree, and a status kept true by contract events."""

from __future__ import annotations

from fastapi import FastAPI

from services.clients.endpoints import router
from services.clients.models import messaging, people
from services.clients.service import on_contract_event
from services.clients.settings import ClientsSettings
from shared.app import ConsumerSpec, ServiceParts, create_service_app
from shared.projections.identity import IDENTITY_TOPICS, people_handlers

CONTRACT_TOPIC = "contracts.contract.events"
# The contract events that can change what a client holds (renewal_due changes nothing here).
STATUS_EVENTS = ("created", "issued", "activated", "expired", "cancelled")


def create_app(settings: ClientsSettings | None = None) -> FastAPI:
    settings = settings or ClientsSettings()

    return create_service_app(ServiceParts(
        settings=settings,
        title="InsureOps clients",
        description="Client profiles (individual or company), the parent/child corporate tree with roll-ups, "
                    "and each client's status, maintained from contract events.",
        routers=[router],
        tables=messaging,
        publishes=["clients.client.events"],
        consumers=[ConsumerSpec(
            name="clients",
            topics=[*IDENTITY_TOPICS, CONTRACT_TOPIC],
            handlers={**people_handlers(people),
                      **{f"contracts.contract.{verb}": on_contract_event for verb in STATUS_EVENTS}},
        )],
        tags=[{"name": "clients", "description": "Client profiles, hierarchy and status"}],
    ))
