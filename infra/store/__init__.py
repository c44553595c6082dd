"""The event store adapter: eventsourcing applications on PostgreSQL, the mapper that seals personal fields,
the per-customer key store, the seller registry and the embedded PostgreSQL server.
"""
