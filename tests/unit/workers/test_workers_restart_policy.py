"""RestartPolicy: immediate first restart, growing delays, a bounded budget (pure)."""

from __future__ import annotations

from insitu.runtime.workers import RestartPolicy


def test_first_restart_is_immediate_then_delays_double_up_to_the_cap() -> None:
    policy = RestartPolicy(max_restarts=6, window=60.0, base_delay=0.5, max_delay=2.0)
    history: list[float] = []
    delays = []
    for now in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0):
        delays.append(policy.delay(history, now))
        history.append(now)
    assert delays == [0.0, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert policy.delay(history, 6.0) is None  # budget spent: no restart storm


def test_old_restarts_leave_the_window() -> None:
    policy = RestartPolicy(max_restarts=2, window=10.0)
    assert policy.delay([0.0, 1.0], 5.0) is None
    assert policy.delay([0.0, 1.0], 10.5) == policy.base_delay  # one left in the window
    assert policy.delay([0.0, 1.0], 30.0) == 0.0
