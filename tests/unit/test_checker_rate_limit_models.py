"""Every rate-limit model on hand-written histories: what each rejects, what each accepts, and why.

Limit 2 per 10 s unless a test says otherwise; time starts at 1000 (an epoch multiple
of 10), each hit lasts 10 ms, and the checker widens each by its 50 ms tolerance.
"""

from __future__ import annotations

from harness.checkers.base import Validity, Verdict, judge
from harness.checkers.rate_limit import check_rate_limit
from harness.history import Operation, Outcome
from harness.policy import effective
from tests.unit.histories import FAIL, OK, UNKNOWN, HistoryBuilder

LIMIT, WINDOW = 2, 10.0
EPOCH = {"name": "fixed-window", "anchor": "epoch"}
OFFSET = {"name": "fixed-window", "anchor": "offset"}
FIRST_HIT = {"name": "fixed-window", "anchor": "first-hit"}
ANY = {"name": "fixed-window", "anchor": "any"}
SLIDING = {"name": "sliding-window"}
COUNTER = {"name": "sliding-window-counter"}


def bucket(burst: int = 5, rate: float = 0.5) -> dict:
    return {"name": "token-bucket", "burst": burst, "rate": rate}


class Hits(HistoryBuilder):
    def __init__(self, algorithm: dict | None, limit: int = LIMIT, window: float = WINDOW) -> None:
        super().__init__("rate_limit", t=1000.0, step=0.01, duration=0.01)
        self.args = {"key": "k", "limit": limit, "window": window}
        if algorithm is not None:
            self.args["algorithm"] = algorithm

    def hit(self, at: float, allowed: bool = True, replica: str = "app-0", outcome: Outcome = OK,
            duration: float = 0.01) -> Operation:
        status = (200 if allowed else 429) if outcome is OK else (400 if outcome is FAIL else None)
        return self.op("hit", replica, outcome, self.args, {"allowed": allowed}, status=status, at=at,
                       duration=duration)

    def allowed(self, *times: float) -> None:
        for i, t in enumerate(times):
            self.hit(t, replica=f"app-{i % 3}")

    def denied(self, *times: float) -> None:
        for t in times:
            self.hit(t, allowed=False)


def judged(algorithm: dict | None, allowed: tuple[float, ...] = (), denied: tuple[float, ...] = (),
           **kwargs: float) -> Verdict:
    b = Hits(algorithm, **kwargs)  # type: ignore[arg-type]
    b.allowed(*allowed)
    b.denied(*denied)
    return check_rate_limit(b.history)


def kinds(verdict: Verdict) -> list[str]:
    return [v.kind for v in verdict.violations]


# --- fixed window, epoch ------------------------------------------------------------------------------


def test_epoch_rejects_a_window_over_its_limit_and_names_the_model() -> None:
    verdict = judged(EPOCH, allowed=(1001, 1004, 1008))
    assert kinds(verdict) == ["over-limit"]
    message = verdict.violations[0].message
    assert "fixed-window (anchor epoch)" in message and "3 hits were allowed in the 10s window" in message
    assert "[-1.00s, +9.00s)" in message and "(1.50x)" in message  # times are from the first hit, at 1001
    assert verdict.stats["keys"]["k"]["overshoot"] == 1.5


def test_epoch_accepts_the_limit_on_each_side_of_a_boundary() -> None:
    verdict = judged(EPOCH, allowed=(1008, 1009.5, 1010.2, 1011), denied=(1009.8, 1012))
    assert verdict.ok, verdict.explain()
    assert verdict.stats["keys"]["k"]["windows"] == 2 and verdict.stats["keys"]["k"]["overshoot"] == 1.0


def test_epoch_never_places_a_hit_straddling_a_boundary() -> None:
    b = Hits(EPOCH)
    b.allowed(1005, 1006)
    b.hit(1009.97, duration=0.02)  # may have been decided at 1010, in the next window
    verdict = check_rate_limit(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["keys"]["k"]["ambiguous"] == 1


# --- fixed window, unknown per-key offset -----------------------------------------------------------


def test_a_limiter_with_an_offset_passes_as_offset_and_any_and_is_caught_as_epoch() -> None:
    # windows [1005, 1015) and [1015, 1025): two each, a correct limiter at phase 5 s;
    # the epoch window [1010, 1020) truly holds four
    allowed = (1013, 1014, 1015.5, 1016)
    for algorithm in (OFFSET, ANY, None):
        verdict = judged(algorithm, allowed=allowed, denied=(1014.5, 1017))
        assert verdict.ok, (algorithm, verdict.explain())
    assert judged(OFFSET, allowed=allowed).stats["keys"]["k"]["overshoot"] == 1.0
    verdict = judged(EPOCH, allowed=allowed)
    assert kinds(verdict) == ["over-limit"] and "4 hits were allowed" in verdict.violations[0].message


def test_offset_rejects_hits_that_no_phase_spreads_within_the_limit() -> None:
    # 11 s of hits: whatever the phase, one 10 s window holds three or more
    verdict = judged(OFFSET, allowed=(1001, 1002, 1006, 1007, 1011, 1012))
    assert kinds(verdict) == ["over-limit"]
    assert "whatever the phase of the key's windows" in verdict.violations[0].message
    assert verdict.stats["keys"]["k"]["overshoot"] >= 1.5


# --- fixed window from the first hit ---------------------------------------------------------------------


def test_first_hit_rejects_a_first_burst_over_the_limit() -> None:
    verdict = judged(FIRST_HIT, allowed=(1000, 1000.2, 1000.4))
    assert kinds(verdict) == ["over-limit"]
    message = verdict.violations[0].message
    assert "fixed-window (anchor first-hit)" in message and "no hit in the 10s before" in message


def test_any_explains_the_same_burst_by_a_boundary_inside_it() -> None:
    assert judged(ANY, allowed=(1000, 1000.2, 1000.4)).ok


def test_first_hit_accepts_a_window_restarted_after_expiry() -> None:
    verdict = judged(FIRST_HIT, allowed=(1000, 1001, 1010.5, 1011), denied=(1005,))
    assert verdict.ok, verdict.explain()


def test_first_hit_accepts_a_group_split_by_a_window_an_earlier_hit_opened() -> None:
    # the window opened at 1000 closes at 1010: 1009.8 is its second hit, 1010.1 opens the next
    verdict = judged(FIRST_HIT, allowed=(1000, 1009.8, 1010.1, 1010.2))
    assert verdict.ok, verdict.explain()
    # without the opener, the three hits within 0.4 s shared one window
    assert kinds(judged(FIRST_HIT, allowed=(1009.8, 1010.1, 1010.2))) == ["over-limit"]


def test_a_hit_of_unknown_outcome_may_have_opened_the_earlier_window() -> None:
    b = Hits(FIRST_HIT)
    b.hit(1000, outcome=UNKNOWN)
    b.allowed(1009.8, 1010.1, 1010.2)
    assert check_rate_limit(b.history).ok


# --- fixed window anywhere: the default -----------------------------------------------------------------


def test_any_accepts_windows_that_start_before_the_first_hit() -> None:
    # limit 1: windows [995, 1005) and [1005, 1015) explain it
    assert judged(ANY, allowed=(1000, 1005), limit=1).ok
    assert judged(None, allowed=(1000, 1005), limit=1).ok


def test_any_rejects_more_than_twice_the_limit_within_a_window_length() -> None:
    verdict = judged(ANY, allowed=(1000, 1005, 1009), limit=1)
    assert kinds(verdict) == ["over-limit"]
    assert "fixed-window (anchor any)" in verdict.violations[0].message
    assert "at most two windows" in verdict.violations[0].message


def test_any_rejects_a_steady_excess_over_several_windows() -> None:
    # limit 1 per 10 s, one hit every 6 s: no 10 s holds three, but 18 s meets at most three windows
    verdict = judged(ANY, allowed=(1000, 1006, 1012, 1018), limit=1)
    assert kinds(verdict) == ["over-limit"] and "meets at most 3 windows" in verdict.violations[0].message


def test_no_declared_algorithm_is_judged_as_any_and_says_so() -> None:
    verdict = judged(None, allowed=(1000, 1000.2, 1000.4, 1000.6, 1000.8))
    assert kinds(verdict) == ["over-limit"]
    assert verdict.stats["keys"]["k"]["algorithm"] == "fixed-window (anchor any)"
    assert any("no rate-limit algorithm declared" in n for n in verdict.notes)


# --- sliding log and sliding-window counter ----------------------------------------------------------------


def test_sliding_log_rejects_more_than_the_limit_in_any_interval_that_epoch_windows_allow() -> None:
    allowed = (1005, 1009, 1011)
    assert judged(EPOCH, allowed=allowed).ok
    verdict = judged(SLIDING, allowed=allowed)
    assert kinds(verdict) == ["over-limit"]
    assert "sliding-window allows at most 2" in verdict.violations[0].message


def test_sliding_log_accepts_the_limit_in_every_interval() -> None:
    verdict = judged(SLIDING, allowed=(1000, 1005, 1010.2, 1015.3), denied=(1007, 1012))
    assert verdict.ok, verdict.explain()
    assert verdict.stats["keys"]["k"]["overshoot"] == 1.0


def test_sliding_window_counter_allows_up_to_twice_the_limit_in_a_window_length() -> None:
    assert judged(COUNTER, allowed=(1009.5, 1009.6, 1010.1, 1010.2)).ok
    verdict = judged(COUNTER, allowed=(1009.5, 1009.6, 1010.1, 1010.2, 1010.3))
    assert kinds(verdict) == ["over-limit"] and "sliding-window-counter" in verdict.violations[0].message


# --- token bucket ---------------------------------------------------------------------------------------


def test_token_bucket_accepts_its_burst_then_the_refill_rate() -> None:
    verdict = judged(bucket(), allowed=(1000, 1000, 1000, 1000, 1000, 1002.3, 1004.5), denied=(1000.5, 1003))
    assert verdict.ok, verdict.explain()


def test_token_bucket_rejects_more_than_its_burst_at_once() -> None:
    verdict = judged(bucket(), allowed=(1000,) * 6)
    assert kinds(verdict) == ["over-limit"]
    assert "token-bucket (burst 5, rate 0.5/s)" in verdict.violations[0].message


def test_token_bucket_rejects_a_hit_before_a_token_refilled() -> None:
    verdict = judged(bucket(), allowed=(1000, 1000, 1000, 1000, 1000, 1001))
    assert kinds(verdict) == ["over-limit"]


def test_token_bucket_defaults_to_limit_per_window() -> None:
    verdict = judged({"name": "token-bucket"}, allowed=(1000, 1000, 1005.2))  # burst 2, rate 0.2/s
    assert verdict.ok and verdict.stats["keys"]["k"]["algorithm"] == "token-bucket (burst 2, rate 0.2/s)"


# --- over-denial and stuck keys --------------------------------------------------------------------------


def test_a_denial_with_fewer_hits_than_the_limit_before_it_is_over_denied() -> None:
    verdict = judged(ANY, allowed=(1000,), denied=(1001,))
    assert kinds(verdict) == ["over-denied"]
    assert "at most 1 hits that may have been allowed" in verdict.violations[0].message


def test_a_denial_after_the_limit_was_reached_is_not_over_denied() -> None:
    assert judged(ANY, allowed=(1000, 1000.5), denied=(1001, 1009)).ok


def test_a_key_denied_for_longer_than_a_window_is_stuck() -> None:
    # two allowed, then denied forever: an INCR whose EXPIRE never came
    verdict = judged(FIRST_HIT, allowed=(1000, 1000.1), denied=(1001, 1005, 1012, 1020, 1030))
    assert kinds(verdict) == ["stuck"]
    violation = verdict.violations[0]
    assert violation.evidence["denied"] == 3 and "it is stuck" in violation.message
    assert verdict.stats["keys"]["k"]["over_denied"] == 3 and verdict.stats["stuck"] == ["k"]


def test_unknown_outcomes_may_explain_a_denial() -> None:
    b = Hits(ANY)
    b.allowed(1000)
    b.hit(1000.5, outcome=UNKNOWN)
    b.denied(1001)
    assert check_rate_limit(b.history).ok


def test_unknown_outcomes_are_never_proof_of_admission() -> None:
    b = Hits(EPOCH)
    b.allowed(1001, 1002)
    for t in (1003, 1004, 1005):
        b.hit(t, outcome=UNKNOWN)
    verdict = check_rate_limit(b.history)
    assert verdict.ok and verdict.stats["unknown"] == 3


def test_a_fixed_window_never_denies_its_first_hits_but_a_sliding_log_may_count_its_denials() -> None:
    allowed, denied = (1000, 1000.1), (1005, 1009, 1014)
    # any fixed window holding 1014 opened after 1004, and its first two hits would have been allowed
    assert kinds(judged(ANY, allowed=allowed, denied=denied)) == ["over-denied"]
    # a log that records denied hits still holds 1005 and 1009 at 1014
    assert judged(SLIDING, allowed=allowed, denied=denied).ok


def test_epoch_knows_where_the_denials_window_opened() -> None:
    allowed, denied = (1009, 1009.2), (1010.5,)
    assert kinds(judged(EPOCH, allowed=allowed, denied=denied)) == ["over-denied"]
    assert judged(ANY, allowed=allowed, denied=denied).ok


def test_token_bucket_denial_with_tokens_left_is_over_denied() -> None:
    assert kinds(judged(bucket(), allowed=(1000, 1000), denied=(1001,))) == ["over-denied"]
    assert judged(bucket(), allowed=(1000,) * 5, denied=(1001,)).ok


def test_sliding_window_counter_denial_needs_hits_in_the_two_windows_before() -> None:
    assert kinds(judged(COUNTER, allowed=(1000,), denied=(1001,))) == ["over-denied"]
    assert judged(COUNTER, allowed=(1000, 1001), denied=(1015,)).ok  # the previous window still weighs


def test_a_refused_hit_may_have_been_counted_by_the_limiter_before_the_handler() -> None:
    b = Hits(ANY)
    b.allowed(1000)
    b.hit(1000.5, outcome=FAIL)  # a 400: the limiter ran first
    b.denied(1001)
    assert check_rate_limit(b.history).ok


# --- policy: resets excuse over-admission, never over-denial ------------------------------------------------


def test_a_redis_restart_excuses_over_limit_but_not_over_denial() -> None:
    b = Hits(EPOCH)
    b.allowed(1001, 1001.1)
    b.history.record_fault("dependency-restart", "redis", 1002, 1002.5)
    b.allowed(1003, 1003.1)
    verdict = judge(b.history, [check_rate_limit], effective())
    assert verdict.validity is Validity.PASS and any("exempt by policy" in n for n in verdict.notes)

    b = Hits(EPOCH)
    b.allowed(1001)
    b.denied(1001.5)
    b.history.record_fault("dependency-restart", "redis", 1002, 1002.5)
    b.denied(1006)
    verdict = judge(b.history, [check_rate_limit], effective())
    assert verdict.validity is Validity.FAIL and kinds(verdict) == ["over-denied"]
    assert verdict.violations[0].evidence["denied"] == 2  # one run, the restart in between: still not exempt


def test_denials_while_the_store_is_unreachable_are_not_judged_but_after_it_they_are() -> None:
    # a limiter may fail closed without its store (django-ratelimit's default)
    b = Hits(ANY)
    b.allowed(1000)
    b.history.record_fault("dependency-outage", "redis", 1001, 1001.2)
    b.denied(1002, 1003)
    b.history.record_fault("dependency-outage", "redis", 1004, 1005, heal=True)
    b.denied(1006)  # within the reconnection grace
    verdict = check_rate_limit(b.history)
    assert verdict.ok and any("3 denial(s)" in n and "unreachable" in n for n in verdict.notes), verdict.explain()
    b.denied(1008)
    assert kinds(check_rate_limit(b.history)) == ["over-denied"]


# --- a hit that may have taken effect outside the window or interval proves nothing there -----------------

STRADDLING = [
    # (algorithm, allowed times, the hit made long, its duration, limit)
    (EPOCH, (1005, 1006, 1009.9), 2, 0.2, LIMIT),  # may have been decided in [1010, 1020)
    (OFFSET, (1001, 1002, 1003, 1004, 1005, 1006), 5, 8.0, LIMIT),  # may have been after 1013: windows from 1003
    (FIRST_HIT, (1000, 1000.2, 1000.4), 2, 10.0, LIMIT),  # may have come after the first window closed
    (ANY, (1000, 1005, 1009.8), 2, 0.4, 1),  # may have been at 1010.2: three windows fit
    (SLIDING, (1005, 1009, 1014.8), 2, 0.4, LIMIT),  # may have been at 1015.2, 10 s after the first
    (COUNTER, (1009.5, 1009.6, 1010.1, 1010.2, 1019.3), 4, 0.4, LIMIT),  # may have been at 1019.7
    (bucket(), (1000, 1000, 1000, 1000, 1000, 1000), 5, 2.0, LIMIT),  # may have been at 1002: a token back
]


def test_each_model_rejects_the_excess_and_accepts_it_when_one_hit_may_lie_outside() -> None:
    for algorithm, times, long_one, duration, limit in STRADDLING:
        for long_enough in (False, True):
            b = Hits(algorithm, limit=limit)
            for i, t in enumerate(times):
                b.hit(t, replica=f"app-{i % 3}", duration=duration if (long_enough and i == long_one) else 0.01)
            verdict = check_rate_limit(b.history)
            if long_enough:
                assert verdict.ok, (algorithm, verdict.explain())
            else:
                assert kinds(verdict) == ["over-limit"], (algorithm, verdict.explain())
