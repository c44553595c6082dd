"""The read side: read models as pure folds of events, the SQL that stores and queries them, the SLA due rows.

Below every entry point and the infra layer, above the domain: it imports only the domain (and psycopg).
"""
