"""Settings of the tasks service."""

from typing import Literal

from pydantic import Field, field_validator

from shared.settings import DatabaseSettings

Priority = Literal["low", "normal", "high", "urgent"]


class TasksSettings(DatabaseSettings):
    service_name: str = Field("tasks", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8004, description="Port the HTTP server listens on.")

    priority_weights: dict[Priority, int] = Field(
        {"low": 1, "normal": 2, "high": 3, "urgent": 5},
        description="Weight of an open task of each priority in a person's load (JSON object), used by routing "
        "and the workload view.",
    )
    router_consumers: int = Field(
        3,
        ge=1,
        description="Consumers of pipeline events this process runs in the routing group: each handles the "
        "partitions Kafka gives it, in parallel with the others (more than the topic's partitions is idle).",
    )
    auto_task_priority: Priority = Field("normal", description="Priority of the tasks routing opens on a stage move.")
    endorsement_sla_hours: float = Field(
        16.0,
        gt=0,
        description="Working hours Policy Administration has to bind or withdraw a requested endorsement (the SLA "
        "of the task routing opens for it).",
    )
    overload_threshold: int = Field(
        12, description="A member whose weighted open load is above this is flagged as overloaded in the workload view."
    )

    calendar_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a replica reuses the working-time calendar it read; a change made through another "
        "replica is used by this one at most this much later.",
    )
    link_wait_seconds: float = Field(
        2.0,
        ge=0,
        description="How long opening a ticket waits for a client (or deal) it links that this service has not "
        "heard of yet (a client created a moment ago) before refusing it as unknown (422).",
    )
    sla_yellow_share: float = Field(
        0.75,
        gt=0,
        lt=1,
        description="Share of a task's SLA window (working hours from its start to its due time) after which it is "
        "yellow (at risk).",
    )
    sla_watch_interval_seconds: float = Field(5.0, gt=0, description="How often the SLA watch recomputes SLA states.")

    stale_after_working_hours: float = Field(
        16.0, gt=0, description="Working hours without activity after which a task gets a stale reminder, per period."
    )
    stale_after_working_hours_by_stage: dict[str, float] = Field(
        {},
        description="Per-stage override of STALE_AFTER_WORKING_HOURS, as a JSON object of stage key to working "
        'hours (e.g. `{"client_decision": 40}`).',
    )
    stale_watch_interval_seconds: float = Field(30.0, gt=0, description="How often the stale-work watch runs.")
    watch_max_per_round: int = Field(
        20_000, ge=1, description="Most tasks one round of a watch changes (the rest wait for the next round)."
    )

    @field_validator("priority_weights")
    @classmethod
    def _every_priority_weighed(cls, value: dict) -> dict:
        missing = {"low", "normal", "high", "urgent"} - set(value)
        if missing:
            raise ValueError(f"missing weights for {', '.join(sorted(missing))}")
        if any(w < 0 for w in value.values()):
            raise ValueError("weights must not be negative")
        return value

    @field_validator("stale_after_working_hours_by_stage")
    @classmethod
    def _positive_hours(cls, value: dict) -> dict:
        if any(h <= 0 for h in value.values()):
            raise ValueError("stale periods must be positive")
        return value

    def stale_hours_for(self, stage_key: str | None) -> float:
        if stage_key and stage_key in self.stale_after_working_hours_by_stage:
            return self.stale_after_working_hours_by_stage[stage_key]
        return self.stale_after_working_hours
