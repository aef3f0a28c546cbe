"""missing_ranges: what a shard restarted from persistence files still has to claim."""

from __future__ import annotations

import pytest

from insitu.errors import ClusterSetupError
from insitu.store.cluster_setup import missing_ranges


def test_fresh_node_claims_its_whole_range() -> None:
    assert missing_ranges(0, 5460, [], "s0") == [(0, 5460)]


def test_slots_of_loaded_keys_are_left_out() -> None:
    owned = [(10, 10), (12, 20), (5460, 5460)]
    assert missing_ranges(0, 5460, owned, "s0") == [(0, 9), (11, 11), (21, 5459)]
    assert missing_ranges(0, 5460, [(0, 5460)], "s0") == []


def test_slots_outside_the_range_mean_another_layout() -> None:
    with pytest.raises(ClusterSetupError, match="another number of shards"):
        missing_ranges(5461, 10922, [(100, 100)], "s1")
