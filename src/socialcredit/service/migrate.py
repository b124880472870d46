"""Database migrations with Alembic, run from the package (no alembic.ini to find)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from .auditkey import AuditKey, key_for


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("socialcredit.service") / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, audit_key: AuditKey | None = None) -> None:
    """Bring the database to the newest schema (creating it on first use). A migration that
    rewrites the audit log seals it with `audit_key` (by default, the key beside the database)."""
    url = engine.url.render_as_string(hide_password=False)
    config = alembic_config(url)
    config.attributes["audit_key"] = audit_key or key_for(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
