"""Runtime: settings, database, Redis, health, metrics and the other plumbing every process shares."""
