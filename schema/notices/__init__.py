"""GraphQL of the notice engine: recording opens, and the loader behind an order's notices."""
