"""Orders: the read services behind the order tracking tab, and the one place that sets status."""
