"""Runnable examples; each is exercised by a test."""
