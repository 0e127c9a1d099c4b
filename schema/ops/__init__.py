"""The operators' GraphQL schema (composed by h13api's schema/ops/__init__.py at merge)."""
