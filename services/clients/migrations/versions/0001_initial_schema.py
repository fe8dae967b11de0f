"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:06:31.697619
"""

from alembic import op

from shared.db.migration_ops import create_messaging_tables_v1, create_people_tables_v1
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    create_people_tables_v1()
    # Provisioning creates pg_trgm as the superuser; it is a trusted extension, so the database owner
    # may create it too (e.g. on a PostgreSQL that was provisioned some other way).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "client_contracts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("premium", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_client_contracts")),
    )
    op.create_index("ix_client_contracts_client_status", "client_contracts", ["client_id", "status"], unique=False)
    op.create_table(
        "clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("tax_id", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("phone_digits", sa.String(length=40), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active_contracts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('individual', 'company')", name=op.f("ck_clients_kind")),
        sa.CheckConstraint("status IN ('prospect', 'active', 'inactive')", name=op.f("ck_clients_status")),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name=op.f("ck_clients_not_own_parent")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["clients.id"], name=op.f("fk_clients_parent_id_clients"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index(op.f("ix_clients_department_id"), "clients", ["department_id"], unique=False)
    op.create_index("ix_clients_email", "clients", [sa.literal_column("lower(email)")], unique=False)
    op.create_index(
        "ix_clients_name_trgm",
        "clients",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_clients_parent_id"), "clients", ["parent_id"], unique=False)
    op.create_index("ix_clients_phone_digits", "clients", ["phone_digits"], unique=False)
    op.create_index(op.f("ix_clients_status"), "clients", ["status"], unique=False)
    op.create_index(
        "uq_clients_country_tax_id",
        "clients",
        ["country", "tax_id"],
        unique=True,
        postgresql_where=sa.text("tax_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_index(op.f("ix_known_users_department_id"), table_name="known_users")
    op.drop_table("known_users")
    op.drop_table("known_departments")
    op.drop_table("inbox")
    op.drop_table("dead_letters")
    op.drop_index("uq_clients_country_tax_id", table_name="clients", postgresql_where=sa.text("tax_id IS NOT NULL"))
    op.drop_index(op.f("ix_clients_status"), table_name="clients")
    op.drop_index("ix_clients_phone_digits", table_name="clients")
    op.drop_index(op.f("ix_clients_parent_id"), table_name="clients")
    op.drop_index(
        "ix_clients_name_trgm", table_name="clients", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}
    )
    op.drop_index("ix_clients_email", table_name="clients")
    op.drop_index(op.f("ix_clients_department_id"), table_name="clients")
    op.drop_table("clients")
    op.drop_index("ix_client_contracts_client_status", table_name="client_contracts")
    op.drop_table("client_contracts")
