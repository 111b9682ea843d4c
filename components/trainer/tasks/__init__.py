"""Tasks: `masked_lm.MaskedLMTask` (registered in `components/trainer/registry.py`)."""
