"""The operators' side of the service (served on /ops/graphql by schema/ops/):

- keys.py    who is calling: the OPS_API_KEY entry a bearer key matches (constant time)
- rules.py   when a FAILED notice may be sent again (the one rule the search and the mutation use)
- search.py  pages of notices, supply-chain commands, alerts and the audit log (keyset, newest first)
- actions.py resend a notice, retry a command, acknowledge an alert; each writes an audit row
- audit.py   the audit rows (OpsAudit)
"""
