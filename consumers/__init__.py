"""consumers: FastStream consumer groups that apply each event once, in order per case (projections first)."""
