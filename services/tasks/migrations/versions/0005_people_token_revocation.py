"""people token revocation: the replica of identity's users keeps when each user's tokens were last revoked
(a role, department or password change), so this service refuses the older tokens after a restart too

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:00:00
"""

from shared.db.migration_ops import add_people_token_revocation_v1, drop_people_token_revocation_v1

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_people_token_revocation_v1()


def downgrade() -> None:
    drop_people_token_revocation_v1()
