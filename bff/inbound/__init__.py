"""What arrives from outside (the supply chain's webhook, WeChat's pushes), routed to the domains."""
