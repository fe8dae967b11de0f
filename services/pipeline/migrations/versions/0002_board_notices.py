"""board notices: each committed pipeline event rings the live boards (NOTIFY pipeline_board)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 06:40:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOTIFY is delivered when the writing transaction commits, in commit order; the payload is small (the
    # event's sequence number, type, topic and aggregate), the boards read the rest themselves.
    op.execute("""
        CREATE FUNCTION board_notice() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pipeline_board', json_build_object(
                'seq', NEW.id, 'type', NEW.event_type, 'topic', NEW.topic, 'key', NEW.key)::text);
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER outbox_board_notice AFTER INSERT ON outbox
        FOR EACH ROW WHEN (NEW.topic LIKE 'pipeline.%') EXECUTE FUNCTION board_notice()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_board_notice ON outbox")
    op.execute("DROP FUNCTION board_notice()")
