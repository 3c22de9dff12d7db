"""Filters as SQL: each set field adds its condition and parameter, unknown steps refused."""

import pytest

from wit_pipeline.browse import Filters
from wit_pipeline.core.errors import InputError


def test_no_filter_is_true():
    assert Filters().sql() == ("TRUE", {})


def test_each_field_adds_its_condition_and_parameter():
    where, params = Filters(keep=False, reason="duplicate", min_side=64, max_score=0.3).sql()
    assert "NOT coalesce(keep, FALSE)" in where
    assert "list_contains(why, $reason)" in where
    assert params == {"reason": "duplicate", "min_side": 64, "max_score": 0.3}


def test_a_step_is_its_funnel_condition():
    where, params = Filters(step="sharded", keep=True, lang="de").sql()
    assert where.endswith("AND keep AND in_shards") and params == {"lang": "de"}


def test_unknown_step_and_missing_entry_are_input_errors():
    with pytest.raises(InputError, match="step 'nope'"):
        Filters(step="nope")
    with pytest.raises(InputError, match="no metadata entries"):
        Filters(entry="cats").sql(has_entry=False)
