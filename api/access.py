"""Who may see what, at the API: the reader's scope (``projections.scopes.SCOPES``) and who may reveal which
personal field (``REVEALS``), both declared once as data and shared by the routes and the console.

A reveal shows a personal field in full to a role whose task needs it, for a stated purpose, and records
one row per field in the personal-data access log (``infra.audit.access_log``). Everything else reads the
field masked (``projections.masking``).
"""

from __future__ import annotations

import re
from uuid import UUID, uuid4

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.problems import ApiProblemError, ResourceNotFoundError
from domain.base import Actor, Role
from infra.audit.access_log import AccessKind, AccessLog, AccessRecord
from infra.audit.history import AuditTrail
from infra.clock import Clock
from projections.masking import MASKING_RULES, PERSONAL_FIELDS, mask_fields
from projections.scopes import SCOPES, Reader, Relation, Resource

REVEALS: dict[Role, frozenset[str]] = {
    # A seller phones their own customer; the identity number stays with underwriting.
    Role.SELLER: frozenset({"applicant_name", "applicant_phone"}),
    Role.UNDERWRITER: frozenset(
        {"applicant_name", "applicant_id_number", "applicant_phone", "insured_name", "beneficiary_names"}
        # 保全: operations staff carry out the change they check, so they may see its new values in full.
        | {
            "requester_name",
            "new_phone",
            "new_email",
            "new_address",
            "bank_account_no",
            "account_holder_name",
            "beneficiary_id_numbers",
        }
    ),
    Role.CLAIMS_HANDLER: frozenset(
        {"reporter_name", "reporter_phone", "payee_name", "payee_account", "contact_phone", "location"}
    ),
    Role.SURVEYOR: frozenset({"reporter_name", "reporter_phone"}),
    Role.ADJUSTER: frozenset({"reporter_name"}),
    Role.CLAIM_REVIEWER: frozenset({"payee_name", "payee_account"}),
    Role.COMPLAINTS_OFFICER: frozenset({"complainant_name", "complainant_phone"}),
    # The few fields a call needs: whom to ask for, and the number; a service order's dispatcher, where
    # the provider goes and whom it calls.
    Role.CALLBACK_AGENT: frozenset({"applicant_name", "applicant_phone", "contact_phone", "location"}),
    Role.SUPERVISOR: frozenset(),
    Role.SENIOR_MANAGER: frozenset(),
    # Auditors read everything; a reveal is still logged with its purpose.
    Role.AUDITOR: frozenset(PERSONAL_FIELDS),
    Role.SYSTEM: frozenset(),
}
"""Role → the personal fields it may reveal in full (with a purpose). Every other field stays masked."""

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def reader(actor: Actor) -> Reader:
    """The scope reader of an authenticated actor."""
    return Reader(actor_id=actor.id, role=actor.role)


def request_id(request: Request, response: Response | None = None) -> str:
    """The request's id: the caller's ``X-Request-ID`` when well-formed, else a new one (echoed back)."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    found = given if _REQUEST_ID.match(given) else str(uuid4())
    if response is not None:
        response.headers[REQUEST_ID_HEADER] = found
    return found


class RevealNotAllowedError(ApiProblemError):
    """The role's task does not need this personal field in full: it stays masked."""

    status, title, slug = 403, "RevealNotAllowedError", "reveal-not-allowed"


class UnknownPersonalFieldError(ApiProblemError):
    """A reveal named a field that is not a personal field."""

    status, title, slug = 422, "UnknownPersonalFieldError", "unknown-personal-field"


class PersonalData(BaseModel):
    """A case's personal fields as the reader may see them: masked, except the ones revealed."""

    model_config = ConfigDict(frozen=True)

    case_id: UUID
    subject_id: str = Field(description="The data subject: the customer id.")
    fields: dict[str, str | list[str]] = Field(
        description="Each personal field recorded on the case, masked ("
        + "; ".join(f"{kind.value}: {rule}" for kind, rule in MASKING_RULES.items())
        + ") unless named in `reveal`."
    )
    revealed: list[str] = Field(description="The fields shown in full (each one logged with the purpose).")


def check_reveal(actor: Actor, fields: list[str]) -> frozenset[str]:
    """The fields to reveal, after checking each is personal and the role's task needs it (else 422/403)."""
    unknown = [f for f in fields if f not in PERSONAL_FIELDS]
    if unknown:
        raise UnknownPersonalFieldError(
            f"not a personal field: {', '.join(unknown)} (one of {', '.join(sorted(PERSONAL_FIELDS))})"
        )
    refused = [f for f in fields if f not in REVEALS.get(actor.role, frozenset())]
    if refused:
        raise RevealNotAllowedError(
            f"the role {actor.role.value} may not reveal {', '.join(refused)}: it is shown masked"
        )
    return frozenset(fields)


def personal_data(
    *,
    actor: Actor,
    case_id: UUID,
    subject_id: str,
    reveal: frozenset[str],
    purpose: str | None,
    request_id: str,
    trail: AuditTrail,
    access_log: AccessLog,
    clock: Clock,
) -> PersonalData:
    """The case's personal fields from its events (the latest value of each), masked except ``reveal``;
    each revealed field is logged before it is returned."""
    if reveal and not purpose:
        raise RevealNotAllowedError("a reveal states its purpose (purpose=…)")
    try:
        history = trail.history(case_id)
    except LookupError:
        raise ResourceNotFoundError(f"no case with id {case_id}") from None
    latest: dict[str, str | list[str]] = {}
    for event in history.events:
        for name, value in event.payload.items():
            if name in PERSONAL_FIELDS and isinstance(value, str | list):
                latest[name] = value
    shown = sorted(name for name in reveal if name in latest)
    if shown:
        access_log.record(
            [
                AccessRecord(
                    actor_id=actor.id,
                    role=actor.role.value,
                    kind=AccessKind.REVEAL,
                    subject_id=subject_id,
                    case_id=case_id,
                    field=name,
                    purpose=purpose or "",
                    request_id=request_id,
                )
                for name in shown
            ],
            clock.now(),
        )
    return PersonalData(
        case_id=case_id,
        subject_id=subject_id,
        fields=mask_fields(latest, frozenset(shown)),
        revealed=shown,
    )


def scope_table_markdown() -> str:
    """The scope table in Markdown (for the OpenAPI description and the README)."""
    resources = list(Resource)
    lines = [
        "| role | " + " | ".join(r.value for r in resources) + " | may reveal |",
        "| --- | " + " | ".join("---" for _ in resources) + " | --- |",
    ]
    for role, scope in SCOPES.items():
        if role is Role.SYSTEM:
            continue
        cells = ["—" if scope[r] is Relation.NONE else scope[r].value for r in resources]
        reveals = ", ".join(sorted(REVEALS.get(role, frozenset()))) or "—"
        if role is Role.AUDITOR:
            reveals = "every personal field"
        lines.append(f"| {role.value} | " + " | ".join(cells) + f" | {reveals} |")
    return "\n".join(lines)


def access_description() -> str:
    """The OpenAPI document's section on record-level access and personal data."""
    masks = "\n".join(f"  * {kind.value}: {rule}" for kind, rule in MASKING_RULES.items())
    return (
        "\n\n## Access and personal data\n\n"
        "* **Record scopes**: each role reads the records of the table below under the relation named "
        "(`projections/scopes.py`); a case out of scope answers 404 exactly like one that does not exist, "
        "and lists (worklist, timers, a customer's cases) hold only what is in scope.\n"
        "* **Masking**: every personal field reads masked by default:\n"
        f"{masks}\n"
        "* **Reveal**: `GET /policies|claims|complaints|service-requests/{id}/personal-data"
        "?reveal=FIELD&purpose=…` shows a field in full to a role that may reveal it (else 403; without "
        "`purpose` 403); each field shown is "
        "recorded in the personal-data access log (`GET /audit/access-log`, auditors) with the actor, time, "
        "data subject, purpose and `X-Request-ID`.\n\n" + scope_table_markdown()
    )
