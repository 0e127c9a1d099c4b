"""Engagement-driven timing: open-hour profiles and the send hour (docs/best-time-and-experiments.md)."""
