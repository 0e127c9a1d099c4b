"""Experiments on lifecycle notices: file, sticky assignment, report (docs/best-time-and-experiments.md)."""
