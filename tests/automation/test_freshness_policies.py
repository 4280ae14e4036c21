"""Freshness by layer and catalog defaults: applied to any asset, never overriding its own."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from lakehouse.automation import apply_policies
from lakehouse.automation.freshness import LAYER_FRESHNESS, freshness_policy


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "a"], owners=["team:x"], tags={"domain": "sales"}),
        dg.AssetSpec(["upkeep", "backup"]),
    ]
)
def _multi():
    pass


def test_policy_comes_from_the_layer_unless_the_asset_has_its_own():
    assert freshness_policy(dg.AssetKey(["staging", "users"])) == LAYER_FRESHNESS["staging"]
    hourly = freshness_policy(dg.AssetKey(["upkeep", "backup"]))
    assert hourly != LAYER_FRESHNESS["upkeep"]


def test_an_unknown_layer_fails_loudly():
    with pytest.raises(ValueError, match="no freshness policy for layer 'gold'"):
        freshness_policy(dg.AssetKey(["gold", "x"]))


def test_daily_layers_warn_after_a_day_and_fail_after_a_grace():
    policy = LAYER_FRESHNESS["raw"]
    assert policy.warn_window.to_timedelta() == dt.timedelta(days=1)
    assert policy.fail_window.to_timedelta() > dt.timedelta(days=1)


def test_multi_assets_get_defaults_without_losing_their_own_values():
    (assets,) = apply_policies([_multi], "lakehouse")
    raw = assets.specs_by_key[dg.AssetKey(["raw", "a"])]
    upkeep = assets.specs_by_key[dg.AssetKey(["upkeep", "backup"])]
    assert raw.owners == ["team:x"] and raw.tags["domain"] == "sales"
    assert raw.tags["layer"] == "raw" and raw.freshness_policy == LAYER_FRESHNESS["raw"]
    assert upkeep.owners == ["team:data-engineering"]
    assert upkeep.tags == {"layer": "upkeep", "domain": "platform", "classification": "internal"}
