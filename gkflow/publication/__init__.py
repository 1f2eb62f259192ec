"""Proactive publication (主动公开): sources, validation, rendering, targets and the ledger."""
