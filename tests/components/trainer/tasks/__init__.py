"""Tests for the tasks."""
