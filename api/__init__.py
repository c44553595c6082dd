"""api: later issues."""
