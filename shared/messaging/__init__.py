"""The message bus rules in code: CloudEvents envelope, outbox and relay, idempotent consumer, dead letters."""
