"""Kafka keeps the events carrying personal data for PERSONAL_DATA_TOPIC_RETENTION_DAYS, not the usual week: the
topics are named by the contracts' markings, created with it by the services and declared with it for Kubernetes."""

from __future__ import annotations

from devstack.k8s import kafka_topics
from shared.contracts import personal_data_topics
from shared.contracts.topics import CLIENTS, IDENTITY_USERS, TASKS
from shared.settings import ServiceSettings

DAY_MS = 24 * 3600 * 1000


def test_the_topics_with_personal_fields_get_the_personal_data_retention():
    assert personal_data_topics() == sorted([CLIENTS, IDENTITY_USERS, TASKS])
    days = ServiceSettings.model_fields["personal_data_topic_retention_days"].default
    assert days < 7
    retention = {t["spec"]["topicName"]: t["spec"]["config"]["retention.ms"] for t in kafka_topics()}
    assert {t: retention[t] for t in personal_data_topics()} == {t: int(days * DAY_MS) for t in personal_data_topics()}
    others = set(retention) - set(personal_data_topics())
    assert others and all(retention[t] == 7 * DAY_MS for t in others)
