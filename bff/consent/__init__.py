"""Consent: the ledger of units per (user, template), preferences and the subscription tab."""
