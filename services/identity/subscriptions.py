"""What identity consumes: the erasure of a data subject (an employee's account, `services.identity.privacy`)."""

from __future__ import annotations

from services.identity.privacy import erase_subject
from shared.contracts.privacy import SubjectErased
from shared.messaging.subscriptions import Consumer, on

CONSUMERS = (Consumer("identity", handlers=(on(SubjectErased, erase_subject),)),)
