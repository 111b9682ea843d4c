"""Tests for the trainer library (components/trainer)."""
