"""Personal fields as the mapper stores them: sealed per customer, opened back, erased for good."""

from __future__ import annotations

import typing

import orjson
import pytest

from domain.base import PERSONAL, DomainEvent
from domain.callback import CallbackTask
from domain.claim import Claim, ClaimReported, SettlementAgreed
from domain.complaint import Complaint
from domain.policy import Policy
from domain.privacy import ERASED, DataSubject
from domain.service_request import ServiceItem, ServiceRequest, ServiceRequested
from domain.timer import SlaTimer
from infra.store.keystore import SubjectErasedError, is_sealed, sealed_customer
from infra.store.mapper import CaseEventMapper, JsonTranscoder, PersonalDataUnprotectedError, personal_data_of
from tests.keys import EphemeralKeys
from tests.unit import test_service_request_rules as service_requests
from tests.unit.test_event_schemas import a_closed_claim

CUSTOMER = "cust-0001"  # the customer of a_closed_claim()


def mapper_with(keys: EphemeralKeys) -> CaseEventMapper:
    mapper = CaseEventMapper(JsonTranscoder())
    mapper.use_keys(keys)
    return mapper


def claim_events() -> list[DomainEvent]:
    return [e for e in a_closed_claim().collect_events() if isinstance(e, DomainEvent)]


def event_of(kind: type[DomainEvent]) -> DomainEvent:
    return next(e for e in claim_events() if isinstance(e, kind))


def test_a_personal_field_is_stored_sealed_for_its_customer_and_opens_back() -> None:
    mapper = mapper_with(EphemeralKeys())
    reported = event_of(ClaimReported)

    stored = mapper.to_stored_event(reported)

    assert "张伟".encode() not in stored.state
    assert b"13800138000" not in stored.state
    payload = orjson.loads(stored.state)
    assert is_sealed(payload["reporter_name"])
    assert sealed_customer(payload["reporter_name"]) == CUSTOMER
    assert mapper.to_domain_event(stored) == reported


def test_an_event_without_a_customer_id_is_sealed_for_the_case_being_saved() -> None:
    mapper = mapper_with(EphemeralKeys())
    settlement = event_of(SettlementAgreed)

    with personal_data_of(CUSTOMER):
        stored = mapper.to_stored_event(settlement)

    assert b"6222000011112222" not in stored.state
    assert sealed_customer(orjson.loads(stored.state)["payee_account"]) == CUSTOMER


def test_a_personal_field_reads_as_erased_once_the_key_is_destroyed() -> None:
    keys = EphemeralKeys()
    mapper = mapper_with(keys)
    stored = mapper.to_stored_event(event_of(ClaimReported))

    keys.erase(CUSTOMER)
    loaded = mapper.to_domain_event(stored)

    assert isinstance(loaded, ClaimReported)
    assert (loaded.reporter_name, loaded.reporter_phone) == (ERASED, ERASED)
    assert loaded.cause == "collision"
    assert loaded.sum_insured_fen == 20_000_000


def test_new_personal_data_of_an_erased_customer_is_refused() -> None:
    keys = EphemeralKeys()
    keys.erase(CUSTOMER)
    with pytest.raises(SubjectErasedError):
        mapper_with(keys).to_stored_event(event_of(ClaimReported))


def test_a_personal_field_is_never_stored_in_clear_without_a_key_store() -> None:
    with pytest.raises(PersonalDataUnprotectedError):
        CaseEventMapper(JsonTranscoder()).to_stored_event(event_of(ClaimReported))


def test_a_personal_field_is_never_stored_when_no_customer_is_known() -> None:
    with pytest.raises(PersonalDataUnprotectedError):
        mapper_with(EphemeralKeys()).to_stored_event(event_of(SettlementAgreed))


def test_a_value_stored_before_sealing_existed_still_loads_as_it_was() -> None:
    mapper = mapper_with(EphemeralKeys())
    stored = mapper.to_stored_event(event_of(ClaimReported))
    payload = orjson.loads(stored.state)
    payload["reporter_name"] = "张伟"
    legacy = stored.__class__(
        stored.originator_id, stored.originator_version, stored.topic, orjson.dumps(payload)
    )

    loaded = mapper.to_domain_event(legacy)

    assert isinstance(loaded, ClaimReported)
    assert loaded.reporter_name == "张伟"


@pytest.mark.parametrize(
    "aggregate", [Policy, Claim, Complaint, CallbackTask, SlaTimer, DataSubject, ServiceRequest]
)
def test_no_aggregate_keeps_personal_data_so_snapshots_hold_none(aggregate: type) -> None:
    hints = typing.get_type_hints(aggregate, include_extras=True)
    personal = [name for name, hint in hints.items() if PERSONAL in getattr(hint, "__metadata__", ())]
    assert personal == []


def test_the_new_personal_data_of_a_service_request_is_sealed_and_reads_as_erased_after_the_key() -> None:
    keys = EphemeralKeys()
    mapper = mapper_with(keys)
    requested = next(
        e
        for e in service_requests.request(ServiceItem.BANK_ACCOUNT_CHANGE).collect_events()
        if isinstance(e, ServiceRequested)
    )
    customer = requested.customer_id

    stored = mapper.to_stored_event(requested)
    keys.erase(customer)
    loaded = mapper.to_domain_event(stored)

    assert b"6222020200112233445" not in stored.state
    assert sealed_customer(orjson.loads(stored.state)["bank_account_no"]) == customer
    assert isinstance(loaded, ServiceRequested)
    assert (loaded.bank_account_no, loaded.account_holder_name, loaded.requester_name) == (ERASED,) * 3
    assert loaded.bank == "ICBC"
