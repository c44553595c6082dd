"""The names of caseledger's consumer groups, in a module that imports nothing heavy.

The command line offers them as ``consume --group`` choices without loading the groups themselves (their
handlers pull in psycopg, the domain and the services); ``consumers.groups`` builds its groups under these
same names.
"""

from __future__ import annotations

from projections.schema import PROJECTIONS_GROUP

TIMERS_GROUP = "timers"
"""Starts, pauses and stops the SLA timers from the case events."""

CALLBACKS_GROUP = "callbacks"
"""Creates and cancels the callback tasks (回访) from the case events."""

GROUP_NAMES: tuple[str, ...] = (PROJECTIONS_GROUP, TIMERS_GROUP, CALLBACKS_GROUP)
"""Every consumer group of caseledger, in the order ``caseledger up`` starts them."""
