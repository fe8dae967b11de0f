"""hash chain, client_id, chain head and checkpoints

Adds to audit_records the chain position `seq`, `prev_hash`, `hash` (services/audit/chain.py) and
`client_id`; the single-row `audit_chain_head` that appenders lock; `audit_checkpoints`.

Records written before this revision are chained here, in id order (the order they were appended).
That needs UPDATE, which the append-only trigger refuses to everyone: the trigger is disabled for
this backfill only, inside this migration's transaction. ALTER TABLE holds an ACCESS EXCLUSIVE lock
on the table until the transaction ends, so nobody else can write while it is off, and the trigger
is enabled again before commit (if anything fails, the whole revision rolls back, trigger included).

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

from services.audit.chain import GENESIS_HASH, record_hash
from services.audit.service import client_id_of

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BACKFILL_CHUNK = 2000


def _backfill(conn) -> tuple[int, str]:
    """Chain the existing records; return the head (seq, hash)."""
    seq, prev = 0, GENESIS_HASH
    last_id = 0
    select = sa.text("SELECT * FROM audit_records WHERE id > :after ORDER BY id LIMIT :n")
    update = sa.text(
        "UPDATE audit_records SET seq = :seq, prev_hash = :prev_hash, hash = :hash, "
        "client_id = :client_id WHERE id = :id"
    )
    while True:
        rows = conn.execute(select, {"after": last_id, "n": _BACKFILL_CHUNK}).mappings().all()
        if not rows:
            return seq, prev
        params = []
        for row in rows:
            seq += 1
            record = dict(row)
            record["seq"] = seq
            record["prev_hash"] = prev
            record["client_id"] = client_id_of(record["event_type"], record["aggregate_id"], record["data"])
            prev = record_hash(record)
            params.append(
                {
                    "id": row["id"],
                    "seq": seq,
                    "prev_hash": record["prev_hash"],
                    "hash": prev,
                    "client_id": record["client_id"],
                }
            )
        conn.execute(update, params)
        last_id = rows[-1]["id"]


def upgrade() -> None:
    op.add_column("audit_records", sa.Column("client_id", sa.String(length=64), nullable=True))
    op.add_column("audit_records", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_records", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_records", sa.Column("hash", sa.String(length=64), nullable=True))

    op.execute("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_delete")
    head_seq, head_hash = _backfill(op.get_bind())
    op.execute("ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_update_delete")

    for column in ("seq", "prev_hash", "hash"):
        op.alter_column("audit_records", column, nullable=False)
    op.create_unique_constraint(op.f("uq_audit_records_seq"), "audit_records", ["seq"])
    op.create_index(
        "ix_audit_records_client",
        "audit_records",
        ["client_id", "occurred_at", "id"],
        unique=False,
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.get_bind().execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, :seq, :hash)"),
        {"seq": head_seq, "hash": head_hash},
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("checkpointed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    # The runtime role moves the one head row and adds checkpoints; it never adds or removes heads.
    op.execute("REVOKE INSERT, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_chain_head FROM audit")
    op.execute("GRANT SELECT, UPDATE ON audit_chain_head TO audit")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_checkpoints FROM audit")
    op.execute("GRANT SELECT, INSERT ON audit_checkpoints TO audit")


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_head")
    op.drop_index(
        "ix_audit_records_client", table_name="audit_records", postgresql_where=sa.text("client_id IS NOT NULL")
    )
    op.drop_constraint(op.f("uq_audit_records_seq"), "audit_records", type_="unique")
    for column in ("hash", "prev_hash", "seq", "client_id"):
        op.drop_column("audit_records", column)
