"""The built-in providers; each registers itself in ``chatdash.llm.registry`` under its ``id``."""
