"""The audit trail: case history and as-of state, the per-case hash chain (a trigger), signed exports and the
offline verifier.
"""
