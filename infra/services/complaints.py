"""Complaints (投诉): the application service for complaints."""

from __future__ import annotations

from domain.complaint import Complaint
from infra.store.eventstore import CaseApplication


class Complaints(CaseApplication[Complaint]):
    """Complaint commands: ``open_case(caller, Complaint.lodge, ...)``, then ``run(id, ...)``."""

    aggregate_class = Complaint
    kind = "complaint"
    bounded_context = "complaint"
