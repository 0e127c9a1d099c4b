"""GraphQL of the lifecycle tab: `lifecycle` and the replenishment mutations (bff/lifecycle/)."""
