"""Quality validation internals: rule families, Great Expectations checks, score, report."""
