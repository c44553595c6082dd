"""The background entry points: FastStream consumer groups that apply each event once, in order per case
(projections, timers, callbacks), the SLA timer scheduler driven by the clock, and projection rebuilds.
"""
