"""Conversions between bertpipe models and published BERT layouts (no TFX)."""
