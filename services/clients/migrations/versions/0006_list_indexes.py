"""the clients list off indexes: by name (the default order: (name, id); a department's: (department_id, name, id),
in place of the index on department_id alone, which it serves too), and every contact a search matches by
substring under a trigram index (lower(email), tax_id, phone_digits), so the search's OR is a BitmapOr. Before,
with 20,000 clients, the Admin's list sorted them all after a Seq Scan, a Manager's sorted the department's, and
every search read the whole table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_clients_name_id ON clients (name, id)")
    op.execute("CREATE INDEX ix_clients_department_name ON clients (department_id, name, id)")
    op.execute("DROP INDEX ix_clients_department_id")
    op.execute("CREATE INDEX ix_clients_email_trgm ON clients USING gin (lower(email) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_clients_tax_id_trgm ON clients USING gin (tax_id gin_trgm_ops)")
    op.execute("CREATE INDEX ix_clients_phone_digits_trgm ON clients USING gin (phone_digits gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_clients_phone_digits_trgm")
    op.execute("DROP INDEX ix_clients_tax_id_trgm")
    op.execute("DROP INDEX ix_clients_email_trgm")
    op.execute("CREATE INDEX ix_clients_department_id ON clients (department_id)")
    op.execute("DROP INDEX ix_clients_department_name")
    op.execute("DROP INDEX ix_clients_name_id")
