"""WebConfig: defaults as documented, and one clear error per bad value."""

import dataclasses
import json
import re

import pytest

from wit_pipeline.testweb import WebConfig


def test_defaults_bound_every_fault():
    config = WebConfig()
    assert config.slow_seconds == 3.0
    assert config.retry_after == 1
    assert 0 < config.drip_seconds <= 60
    assert config.huge_bytes == 256 * 2**20
    assert json.loads(json.dumps(config.as_dict())) == config.as_dict()


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        WebConfig().seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pages": 0}, "pages must be at least 1"),
        ({"images_per_page": 0}, "images_per_page must be at least 1"),
        ({"seed": -1}, "seed must be non-negative"),
        ({"foreign_share": 1.5}, "foreign_share must be within [0, 1]"),
        ({"mismatch_share": -0.1}, "mismatch_share must be within [0, 1]"),
        ({"near_dup_share": 0.5, "exact_dup_share": 0.3}, "add up to 0.89; keep them at most 0.8"),
        ({"drip_seconds": 0}, "drip_seconds must be positive"),
        ({"retry_after": 0}, "retry_after must be at least 1"),
        ({"huge_bytes": 1000}, "huge_bytes must be at least 1 MiB"),
        ({"faults_per_kind": -1}, "faults_per_kind must be >= 0"),
        ({"concept_skew": -0.5}, "concept_skew must be within [0, 4]"),
    ],
)
def test_bad_values_are_rejected_with_the_field_name(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        WebConfig(**change)
