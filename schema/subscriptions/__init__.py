"""The subscription tab: consent units, WeChat's status, topic switches, quiet hours, asking."""
