"""The source system's data: the deterministic seed and the activity simulator."""
