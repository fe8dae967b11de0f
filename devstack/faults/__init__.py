"""The fault matrix (issue 17): `python -m devstack.faults --rounds N --seed S` (`make faults ROUNDS=N SEED=S`).

Randomised rounds, each a real workload through the gateway (clients created and edited; deals opened, moved
forward and back, accepted with terms and their contracts issued, or declined; deals' titles and tasks edited)
with one fault injected mid-flow: SIGKILL of each of the eight services in turn, Kafka killed (supervisord starts
it again), PostgreSQL restarted with a fast or an immediate shutdown, a service paused (SIGSTOP/SIGCONT) 5-15 s,
or a consumer group's offsets moved back (duplicate delivery). After each fault the platform must recover by
itself, and then every invariant must hold (`checks`): every accepted write present in its final state; each
deal with one automatic task per stage visit and exactly one open task, its current stage's (none once closed);
each client's status matching its contracts; every outbox event in audit exactly once and the chain verifying;
no notification missing or doubled; no outbox row stuck; no dead letter; every service ready. It prints each
round, then the rounds, faults by kind, violations with their detail and the recovery time per kind (median,
max), and exits 1 on any violation.

It runs on a platform of its own (`.run/faults` and ports apart from `make up`'s and `make test`'s unless the
INSUREOPS_* environment names others), started from empty data and seeded if none runs, reused if one it started
runs, stopped at the end unless `--keep`. A folder it did not start is never touched.

Modules: `support` (polling, databases, processes), `workload`, `inject` (the faults and their schedule),
`checks` (the invariants), `runner` (rounds and totals). The stack tests use them too
(tests/integration/test_fault_matrix.py runs a short seeded matrix; test_bus_faults.py its workload and checks).
"""
