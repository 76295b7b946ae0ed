"""Alembic environment: the URL comes from the caller's connection or WENXING_DATABASE_URL."""

from alembic import context

from wenxing.config import Settings
from wenxing.db.engine import is_sqlite, make_engine
from wenxing.db.substring import beside_the_models
from wenxing.schema import metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite(connection),
        compare_type=True,
        # The search indexes kept beside the models' tables (db/substring.py).
        include_name=lambda name, _type, _parents: not beside_the_models(name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(Settings().database_url)
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("wenxing migrations run online only")
run_online()
