"""Tests for the BERT models."""
