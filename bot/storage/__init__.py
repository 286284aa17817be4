"""Storage: the only package that speaks SQL. Callers use `Store`, `ReadCache` and records.

What each aggregate keeps about a member is declared once, here importable, for export and
erasure: `store.export(member, [VERIFICATIONS, PENDING_CHECKS])`, `store.erase(member, AGGREGATES)`.
"""

from bot.storage.adapter_state import ADAPTER_STATE
from bot.storage.aggregate import AccountColumn, Aggregate, Erase
from bot.storage.audit_log import AUDIT
from bot.storage.budgets import BUDGETS
from bot.storage.held import HELD_ITEMS
from bot.storage.notices import SENDER_NOTICES
from bot.storage.pending import PENDING_CHECKS
from bot.storage.preferences import MEMBER_PREFERENCES
from bot.storage.reports import REPORTS
from bot.storage.rights import AGGREGATES, assert_no_account_ids_in_text
from bot.storage.role_connections import ROLE_CONNECTIONS
from bot.storage.verifications import VERIFICATIONS

__all__ = [
    "ADAPTER_STATE",
    "AGGREGATES",
    "AUDIT",
    "BUDGETS",
    "HELD_ITEMS",
    "MEMBER_PREFERENCES",
    "PENDING_CHECKS",
    "REPORTS",
    "ROLE_CONNECTIONS",
    "SENDER_NOTICES",
    "VERIFICATIONS",
    "AccountColumn",
    "Aggregate",
    "Erase",
    "assert_no_account_ids_in_text",
]
