"""The operators' insight reads (KPIs, consent inventory, regions, presale, experiments): thin
resolvers over bff.insight."""
