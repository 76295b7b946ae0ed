"""group robots' webhook URL and signing secret sealed at rest: the columns become text
(a sealed value is longer than the 500 and 200 characters the plain ones were allowed)

Rows written before this revision keep their plain values: a migration cannot reach the
server secret (it lives outside the database, and a new installation's is made after the
migrations run), so ``wenxing init`` seals them once the secret is established, and every
robot sender seals any left when it starts (``bot_credentials.seal_plain_rows``); until
then they are read as plain.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _retype(webhook: tuple[sa.types.TypeEngine, sa.types.TypeEngine], secret) -> None:
    """Change the two columns' types, each given as (from, to)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a column's type by copying the table, the copy replacing it; with
        # foreign keys on, the deliveries that refer to the robots step aside meanwhile.
        op.execute("CREATE TEMP TABLE bot_deliveries_aside AS SELECT * FROM bot_deliveries")
        op.execute("DELETE FROM bot_deliveries")
    with op.batch_alter_table("bot_robots", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_url", existing_type=webhook[0], type_=webhook[1], existing_nullable=False
        )
        batch_op.alter_column(
            "secret", existing_type=secret[0], type_=secret[1], existing_nullable=True
        )
    if sqlite:
        op.execute("INSERT INTO bot_deliveries SELECT * FROM bot_deliveries_aside")
        op.execute("DROP TABLE bot_deliveries_aside")


def upgrade() -> None:
    _retype((sa.String(length=500), sa.Text()), (sa.String(length=200), sa.Text()))


def downgrade() -> None:
    # Sealed values do not fit the old widths on PostgreSQL: robots are re-entered after it.
    _retype((sa.Text(), sa.String(length=500)), (sa.Text(), sa.String(length=200)))
