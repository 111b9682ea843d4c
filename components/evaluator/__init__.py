"""MaskedLMEvaluator: Task metrics on the held-out split, blessing, report."""
