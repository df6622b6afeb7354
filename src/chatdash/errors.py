"""The exceptions chatdash raises on purpose, as one tree.

::

    ChatdashError                  root: catch this at an edge (CLI, HTTP, page)
    ├── ConfigError                a setting has a wrong value; the message names the variable
    ├── DatabaseUnavailable        the database cannot be reached; check CHATDASH_DATABASE_URL
    ├── NotInitialized             the database has no chatdash tables yet; run `chatdash init`
    ├── DataError                  sales data that cannot be loaded
    │   └── BadRowError            one row of a file is wrong; carries the line number
    └── QueryError                 a question the query layer refuses (e.g. end before start)

Each message says what to check or fix. They become CLI messages, HTTP 4xx bodies or page messages
only at those edges.
"""

from __future__ import annotations


class ChatdashError(Exception):
    """Root of every error chatdash raises deliberately."""


class ConfigError(ChatdashError):
    """A setting has a value chatdash cannot use."""


class DatabaseUnavailable(ChatdashError):
    """The database does not answer (down, wrong URL, wrong credentials)."""


class NotInitialized(ChatdashError):
    """The database answers but has not been migrated: ``chatdash init`` creates the tables."""


class DataError(ChatdashError):
    """Sales data that cannot be loaded as given."""


class BadRowError(DataError):
    """A row of an input file is invalid; nothing of that file was loaded."""

    def __init__(self, source: str, line: int, reason: str, unit: str = "line") -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}, {unit} {line}: {reason}. Nothing from this file was loaded.")


class QueryError(ChatdashError):
    """A question the query layer will not run as asked."""
