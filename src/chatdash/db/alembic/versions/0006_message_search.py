"""full-text search over chat messages: SQLite FTS5 (kept in step by triggers), a PostgreSQL GIN index

Revision ID: 0006_message_search
Revises: 0005_session_version

Both stem English words (FTS5's porter tokenizer, PostgreSQL's ``english`` configuration), so "lamps"
finds "lamp". SQLite's index is an external-content FTS5 table over ``messages``: triggers keep it in
step, and it is built from the rows already there. PostgreSQL indexes the expression the search
queries (``chatdash.chat.repository.sql``), so it needs no extra table.
"""

from alembic import op

revision = "0006_message_search"
down_revision = "0005_session_version"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    else:
        op.execute("CREATE INDEX ix_messages_search ON messages USING gin (to_tsvector('english', content))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER messages_fts_{trigger}")
        op.execute("DROP TABLE messages_fts")
    else:
        op.execute("DROP INDEX ix_messages_search")
