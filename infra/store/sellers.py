"""Sellers' practice registrations (执业登记): reference data the proposal rule is checked against."""

from __future__ import annotations

from datetime import date

from psycopg import sql
from psycopg.types.json import Jsonb

from domain.policy import SellerNotRegisteredError, SellerRegistration
from infra.store.database import Database


class SellerRegistry:
    """Registrations kept in PostgreSQL, one row per registration number."""

    def __init__(self, database: Database, schema: str) -> None:
        self._database = database
        # Created by the migrations (infra/migrations/steps.py, step 1).
        self._table = sql.Identifier(schema, "seller_registrations")

    def register(self, registration: SellerRegistration) -> None:
        """Record or renew a registration."""
        with self._database.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (registration_no) DO UPDATE SET"
                    " seller_id = EXCLUDED.seller_id, valid_from = EXCLUDED.valid_from,"
                    " valid_to = EXCLUDED.valid_to, authorised_products = EXCLUDED.authorised_products"
                ).format(self._table),
                (
                    registration.registration_no,
                    registration.seller_id,
                    registration.valid_from,
                    registration.valid_to,
                    Jsonb(sorted(registration.authorised_products)),
                ),
            )

    def lookup(self, registration_no: str) -> SellerRegistration:
        """The registration with this number; an unknown number breaks the registration rule."""
        with self._database.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT registration_no, seller_id, valid_from, valid_to, authorised_products FROM {}"
                    " WHERE registration_no = %s"
                ).format(self._table),
                (registration_no,),
            ).fetchone()
        if row is None:
            raise SellerNotRegisteredError(f"no practice registration {registration_no!r} is on record")
        number, seller_id, valid_from, valid_to, products = row
        assert isinstance(valid_from, date)
        return SellerRegistration(
            registration_no=number,
            seller_id=seller_id,
            valid_from=valid_from,
            valid_to=valid_to,
            authorised_products=frozenset(products),
        )

    def sellers_named(self, ref: str) -> frozenset[str]:
        """The sellers ``ref`` names: a seller id on some registration, or the seller of the registration
        with that number (a complainant quotes the number on the agent's practice card). Empty when neither
        is on record."""
        with self._database.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT DISTINCT seller_id FROM {} WHERE seller_id = %s OR registration_no = %s"
                ).format(self._table),
                (ref, ref),
            ).fetchall()
        return frozenset(seller_id for (seller_id,) in rows)
