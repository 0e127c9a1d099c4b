"""Demo data for `make run` (`bff seed`): a demo user and their orders and lifecycle tab, fed
through the same inbound pipeline the supply chain's webhook uses. Only the edge (the CLI, the dev
GraphQL page, scripts) imports it."""
