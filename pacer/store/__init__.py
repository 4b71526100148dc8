"""Persistence: one SQLite file per daemon (see :mod:`pacer.store.sqlite`)."""

from pacer.store.sqlite import OutboxMessage, PublishedSummary, Store

__all__ = ["OutboxMessage", "PublishedSummary", "Store"]
