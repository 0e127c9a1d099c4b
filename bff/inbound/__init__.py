"""What arrives from outside (WeChat's pushes, the supply chain's webhook), routed to the domains."""
