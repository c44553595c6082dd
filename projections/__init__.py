"""projections: later issues."""
