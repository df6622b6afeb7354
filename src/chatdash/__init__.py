"""chatdash: a self-hosted AI application stack for a company's own data."""

__version__ = "0.1.0"
