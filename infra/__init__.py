"""Below the entry points: the composition root (bootstrap.py), the application services (services/), and
the adapters they use: the event store, mapper and key store (store/), the relay and broker (messaging/),
the audit trail (audit/), the settings (the only reader of the environment) and the clock.
"""
