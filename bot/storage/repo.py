"""`Store`: every query verifybot makes, one aggregate per module, over one engine.

Methods take and return neutral values (bot.model, bot.storage.records). Writes commit before they
return, so a caller that answers a person afterwards has made what it promised durable first.
Each part below is a `Database` subclass in its own module; `Store` is their union, so every
method keeps one home and one name, and the engine, the transactions and the connection gate
stay shared (`bot.storage.database`).
"""

from __future__ import annotations

from bot.storage.adapter_state import AdapterState
from bot.storage.audit_log import AuditLog
from bot.storage.budgets import Budgets
from bot.storage.held import HeldItems
from bot.storage.notices import SenderNotices
from bot.storage.pending import PendingChecks
from bot.storage.preferences import Preferences
from bot.storage.reports import Reports
from bot.storage.rights import DataRights
from bot.storage.role_connections import RoleConnections
from bot.storage.stats import Stats
from bot.storage.verifications import Verifications


class Store(
    Verifications,
    Preferences,
    PendingChecks,
    HeldItems,
    Reports,
    AuditLog,
    AdapterState,
    SenderNotices,
    Budgets,
    RoleConnections,
    DataRights,
    Stats,
):
    """The storage entry point: open it with `Store.open(url)`; see each part for its methods."""


__all__ = ["Store"]
