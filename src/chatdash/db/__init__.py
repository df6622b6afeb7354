"""Database access: engines, ORM models, migrations."""

from chatdash.db.engine import get_engine, make_engine, session_factory, translate_errors
from chatdash.db.migrate import upgrade

__all__ = ["get_engine", "make_engine", "session_factory", "translate_errors", "upgrade"]
