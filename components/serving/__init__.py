"""Serving: the raw-text signatures an exported model carries."""
