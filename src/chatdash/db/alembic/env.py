"""Alembic environment: the engine comes from chatdash (see chatdash.db.migrate)."""

from alembic import context

from chatdash.db.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
