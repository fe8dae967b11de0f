"""What pipeline consumes: people (identity), clients (names and departments for visibility), contract
issuance (which completes the deal), renewal notices (which open the renewal deal), and the documents
service's stage checklists and deal documents (an Employee's advance needs them; a complete checklist may
advance the deal); and the erasure of a data subject (`services.pipeline.privacy`)."""

from __future__ import annotations

from services.pipeline import consumers
from services.pipeline.models import people
from services.pipeline.privacy import erase_subject
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractIssued, ContractRenewalDue
from shared.contracts.documents import ChecklistUpdated, DocumentDeleted, DocumentUploaded, DocumentVersioned
from shared.contracts.privacy import SubjectErased
from shared.messaging.subscriptions import Consumer, on
from shared.projections.identity import people_subscriptions

CONSUMERS = (
    Consumer(
        "pipeline",
        handlers=(
            *people_subscriptions(people),
            on(ClientCreated, consumers.client_created),
            on(ClientUpdated, consumers.client_updated),
            on(ContractIssued, consumers.contract_issued),
            on(ChecklistUpdated, consumers.checklist_updated),
            on(DocumentUploaded, consumers.document_added),
            on(DocumentVersioned, consumers.document_added),
            on(DocumentDeleted, consumers.document_deleted),
            on(ContractRenewalDue, consumers.renewal_due),
            on(SubjectErased, erase_subject),
        ),
        # A user's next call waits on these (the client just created, the document just uploaded): no lingering.
        urgent=True,
    ),
)
