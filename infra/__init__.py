"""Wiring: settings, the event store, embedded servers, the CLI and the composition root."""
