"""consumers: later issues."""
