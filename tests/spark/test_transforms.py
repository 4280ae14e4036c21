"""Each staging transform alone, on tiny hand-made DataFrames (the shared local session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from pyspark.sql import DataFrame, SparkSession

from spark.contracts import CONTRACTS, PRODUCTS, PURCHASES, USERS, Contract
from spark.transforms import TRANSFORMS, stage_products, stage_purchases, stage_users

Frame = Callable[[str, list[tuple]], DataFrame]  # the ``frame`` fixture (tests/spark/conftest.py)

# The raw tables' columns the transforms read (lakehouse/raw/streams.py), ids required as there.
USERS_RAW = (
    "id bigint not null, name string, email string, telephone string, age bigint, gender string, "
    "occupation string, nationality string, language string, academic_degree string, "
    "address struct<city:string,state:string,postal_code:string,country_code:string>, "
    "created_at timestamp, updated_at timestamp, _airbyte_extracted_at timestamp"
)
PRODUCTS_RAW = (
    "id bigint not null, make string, model string, year bigint, price double, "
    "created_at timestamp, updated_at timestamp"
)
PURCHASES_RAW = (
    "id bigint not null, user_id bigint, product_id bigint, created_at timestamp, updated_at timestamp, "
    "added_to_cart_at timestamp, purchased_at timestamp, returned_at timestamp"
)


def at(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, minute, tzinfo=dt.UTC)


def user(id_: int, updated: dt.datetime, **values: object) -> tuple:
    row = {
        "name": "Ann Lee",
        "email": f"ann{id_}@example.com",
        "telephone": "555-0100",
        "age": 30,
        "gender": "Female",
        "occupation": "Pilot",
        "nationality": "Irish",
        "language": "English",
        "academic_degree": "Master",
        "address": {"city": "Cork", "state": "Munster", "postal_code": "T12", "country_code": "IE"},
        **values,
    }
    return (id_, *row.values(), at(1), updated, updated)


def rows(df: DataFrame, key: str) -> dict[int, dict]:
    """Rows by key, through Arrow (UTC-aware datetimes, whatever the machine's zone)."""
    return {row[key]: row for row in df.toArrow().to_pylist()}


def assert_matches_contract(df: DataFrame, contract: Contract) -> None:
    assert df.columns == contract.names
    for field, column in zip(df.schema.fields, contract.columns, strict=True):
        assert field.dataType.simpleString() == column.type, field.name
        assert field.metadata["comment"] == column.description
    assert not df.schema[contract.key].nullable


@contextmanager
def session_time_zone(spark: SparkSession, zone: str) -> Iterator[None]:
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        yield
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)


def test_stage_users_keeps_the_latest_version_of_each_user(frame: Frame) -> None:
    raw = frame(
        USERS_RAW,
        [
            user(1, at(2), name="Ann Old"),
            user(1, at(5), name="Ann New"),
            user(1, at(3)),
            user(2, at(2)),
        ],
    )
    staged = rows(stage_users(raw), "user_id")
    assert sorted(staged) == [1, 2]
    assert staged[1]["full_name"] == "Ann New"
    assert staged[1]["updated_at"] == at(5)


def test_stage_users_cleans_text_and_flattens_the_address(frame: Frame) -> None:
    raw = frame(
        USERS_RAW,
        [
            user(1, at(2), name="  Ann Lee ", email="  Ann.Lee+1@Example.COM ", gender="  "),
            user(
                2,
                at(2),
                age=200,
                address={
                    "city": " Paris",
                    "state": None,
                    "postal_code": "75001",
                    "country_code": "FR",
                },
            ),
        ],
    )
    staged = rows(stage_users(raw), "user_id")
    assert staged[1]["full_name"] == "Ann Lee"
    assert staged[1]["email"] == "ann.lee+1@example.com"
    assert staged[1]["gender"] is None  # blank is null
    assert (staged[1]["city"], staged[1]["country_code"]) == ("Cork", "IE")
    assert staged[2]["age"] is None  # out of range
    assert (staged[2]["city"], staged[2]["state"], staged[2]["postal_code"]) == (
        "Paris",
        None,
        "75001",
    )


def test_stage_users_output_is_exactly_the_contract(frame: Frame) -> None:
    raw = frame(USERS_RAW, [user(1, at(2))])
    assert_matches_contract(stage_users(raw), USERS)


def test_stage_products_trims_dedupes_and_nulls_negative_prices(frame: Frame) -> None:
    raw = frame(
        PRODUCTS_RAW,
        [
            (1, " Mazda ", " MX-5 ", 2023, 15001.0, at(1), at(1)),
            (1, "Mazda", "MX-5 RF", 2023, 16000.0, at(1), at(4)),
            (2, "GMC", "Jimmy", 1999, -5.0, at(1), at(1)),
        ],
    )
    staged = stage_products(raw)
    assert_matches_contract(staged, PRODUCTS)
    products = rows(staged, "product_id")
    assert (products[1]["make"], products[1]["model"], products[1]["price"]) == (
        "Mazda",
        "MX-5 RF",
        16000.0,
    )
    assert products[2]["price"] is None
    assert products[2]["year"] == 1999


def purchase(id_: int, created: dt.datetime, **times: dt.datetime | None) -> tuple:
    return (
        id_,
        7,
        3,
        created,
        times.get("updated", created),
        times.get("cart", created),
        times.get("purchased"),
        times.get("returned"),
    )


def test_stage_purchases_derives_status_from_the_latest_step(frame: Frame) -> None:
    raw = frame(
        PURCHASES_RAW,
        [
            purchase(1, at(1)),
            purchase(2, at(1), purchased=at(2)),
            purchase(3, at(1), purchased=at(2), returned=at(3)),
        ],
    )
    staged = stage_purchases(raw)
    assert_matches_contract(staged, PURCHASES)
    statuses = {key: row["status"] for key, row in rows(staged, "purchase_id").items()}
    assert statuses == {1: "in_cart", 2: "purchased", 3: "returned"}


def test_stage_purchases_date_is_the_utc_date_whatever_the_session_zone(
    spark: SparkSession, frame: Frame
) -> None:
    raw = frame(PURCHASES_RAW, [purchase(1, at(1, 23, 30)), purchase(2, at(2, 0, 30))])
    with session_time_zone(spark, "America/Los_Angeles"):  # 23:30 UTC is 15:30 there
        dates = {
            key: row["purchase_date"]
            for key, row in rows(stage_purchases(raw), "purchase_id").items()
        }
    assert dates == {1: dt.date(2024, 1, 1), 2: dt.date(2024, 1, 2)}


def test_stage_purchases_keeps_the_latest_version_and_drops_rows_without_created_at(
    frame: Frame,
) -> None:
    raw = frame(
        PURCHASES_RAW,
        [
            purchase(1, at(1), updated=at(1)),
            purchase(1, at(1), updated=at(6), purchased=at(6)),
            purchase(2, None),  # type: ignore[arg-type]
        ],
    )
    staged = rows(stage_purchases(raw), "purchase_id")
    assert list(staged) == [1]
    assert staged[1]["status"] == "purchased"


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_every_contract_has_its_transform(table: str) -> None:
    assert TRANSFORMS[table].__name__ == f"stage_{table}"
