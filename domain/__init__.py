"""The insurance domain: aggregates, events, rules and deadlines. Pure Python: no I/O, no clock."""
