"""Time in questions: as-of times, time expressions, freshness."""
