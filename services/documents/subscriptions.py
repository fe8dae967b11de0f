"""What the documents service consumes: the records documents belong to (clients, deals, tasks, contracts), so
it can tell who may see a record's documents without asking the record's service; and the erasure of a data subject (`services.documents.privacy`)."""

from __future__ import annotations

from services.documents import privacy, service
from services.documents.settings import DocumentsSettings
from services.documents.storage import BlobStore, open_store
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractCreated
from shared.contracts.pipeline import OpportunityOpened, OpportunityUpdated, StageAdvanced
from shared.contracts.privacy import SubjectErased
from shared.contracts.tasks import TaskCreated, TaskReassigned
from shared.messaging.subscriptions import Consumer, on


def consumers(settings: DocumentsSettings, store: BlobStore | None = None) -> tuple[Consumer, ...]:
    """The service's consumer group; an erasure deletes document bytes from `store` (the settings' by default)."""
    store = store or open_store(settings)
    return (
        Consumer(
            "documents",
            handlers=(
                on(ClientCreated, service.on_client_created),
                on(ClientUpdated, service.on_client_updated),
                on(OpportunityOpened, service.on_opportunity_opened),
                on(OpportunityUpdated, service.on_opportunity_updated),
                on(StageAdvanced, service.on_stage_advanced),
                on(TaskCreated, service.on_task_created),
                on(TaskReassigned, service.on_task_reassigned),
                on(ContractCreated, service.on_contract_created),
                on(SubjectErased, privacy.erasure_handler(store)),
            ),
        ),
    )
