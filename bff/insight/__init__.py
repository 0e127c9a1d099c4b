"""Operators' insight: read-only analytics over notices, consent, orders and experiments.

One module per area (kpis, consent_inventory, regions, presale, experiments); every figure is
aggregated in the database (GROUP BY over parameterised SQL that runs on SQLite and PostgreSQL,
``bff/insight/sql.py``), never by loading the notices into Python. Dates are business days
(BUSINESS_TZ), ranges inclusive, at most 366 days (``bff/insight/period.py``). The definitions are
written down in docs/operators.md, section "Insight".
"""
