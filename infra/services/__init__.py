"""The application layer: one service per bounded context (``Policies``, ``Claims``, ``Complaints``,
``Callbacks``, ``Timers``, ``Privacy``), one named method per use case taking one command model.

Each method loads the case, calls one domain command and saves what it recorded; the same command model is
the HTTP request body, so a command's input is declared once beside the domain method.
"""
