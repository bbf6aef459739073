"""The reference app's rate-limit models as pure decisions: each allows what its library allows, no more.

These are the decisions the app's memory and racy forms run in Python (its atomic
forms run the same ones as Lua in Redis, judged end to end by
``tests/integration/test_rate_limit_models.py``). Times are chosen by hand.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "targets" / "refapp"))

from refapp.storage.limit_models import LimitModel, make_model, offset_of  # noqa: E402

W = 2.0


def hits(model: LimitModel, key: str, times: list[float]) -> list[bool]:
    """Hits at ``times`` on one store (a dict, as the memory form keeps it): allowed or not, in order."""
    store: dict[str, tuple[str, float]] = {}
    out = []
    for at in times:
        slot = model.slot(key, at)
        state, expires_at = store.get(slot, (None, float("inf")))
        decision = model.decide(key, state if expires_at > at else None, at)
        store[slot] = (decision.state, decision.expires_at)
        assert decision.allowed == (decision.count <= model.limit)
        out.append(decision.allowed)
    return out


def test_epoch_windows_reset_on_the_clock() -> None:
    model = make_model("fixed-epoch", 3, W)
    assert hits(model, "k", [100.0, 100.5, 101.0, 101.9, 102.0, 102.1]) == [True, True, True, False, True, True]


def test_offset_windows_end_where_django_ratelimit_ends_them() -> None:
    model = make_model("fixed-offset", 1, W)
    phase = offset_of("k", W)
    assert phase == zlib.crc32(b"k") % W
    end = 1000 * W + phase  # a window of "k" ends here
    assert hits(model, "k", [end - 0.1, end - 0.05, end, end + 0.05]) == [True, False, True, False]


def test_first_hit_window_opens_at_the_first_hit_after_the_last_one_closed() -> None:
    model = make_model("fixed-first-hit", 2, W)
    # opened at 100.3: denied until 102.3, then a new window opened by the hit at 102.5
    assert hits(model, "k", [100.3, 100.4, 101.0, 102.2, 102.5, 102.6, 102.7]) == \
        [True, True, False, False, True, True, False]


def test_sliding_log_allows_at_most_limit_in_any_window() -> None:
    model = make_model("sliding-log", 2, W)
    # 100.0 and 101.0 allowed; 101.5 denied (2 within 2 s); 102.1 allowed (100.0 has left); 102.5 denied
    assert hits(model, "k", [100.0, 101.0, 101.5, 102.1, 102.5, 103.1]) == [True, True, False, True, False, True]


def test_sliding_counter_weighs_the_previous_window() -> None:
    model = make_model("sliding-counter", 4, W)
    full = [100.1, 100.2, 100.3, 100.4]  # window [100, 102) full
    # as `limits` does, the weighted previous count is rounded down: at 102.1 it weighs floor(0.95 * 4) = 3, so one
    # more hit; at 102.2 floor(0.9 * 4) + 1 = 4: denied; at 103.5 floor(0.25 * 4) = 1: three more up to 4 in all
    assert hits(model, "k", [*full, 102.1, 102.2, 103.5, 103.6, 103.7, 103.8]) == \
        [True] * 4 + [True, False, True, True, True, False]


def test_token_bucket_grants_its_burst_then_its_rate() -> None:
    model = make_model("token-bucket", 4, W)  # burst 4, 2 per second
    burst = hits(model, "k", [100.0, 100.01, 100.02, 100.03, 100.04])
    assert burst == [True, True, True, True, False]
    # one token back every 0.5 s: at 100.6 one hit, at 100.61 none
    assert hits(model, "k", [100.0, 100.01, 100.02, 100.03, 100.6, 100.61, 102.2])[-3:] == [True, False, True]


def test_each_model_keeps_keys_apart() -> None:
    for name in ("fixed-epoch", "fixed-first-hit", "fixed-offset", "sliding-log", "sliding-counter", "token-bucket"):
        model = make_model(name, 1, W)
        assert model.slot("a", 100.0) != model.slot("b", 100.0) and name in model.slot("a", 100.0)
