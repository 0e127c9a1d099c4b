"""The notice engine: plan notices from events, decide by one policy, hand sends to the workers."""
