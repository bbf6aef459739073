"""Checkers, one pure function per file; verdicts and merging in ``base``."""

from harness.checkers.cooldowns import check_cooldowns
from harness.checkers.counters import check_counters
from harness.checkers.durability import check_files, check_records
from harness.checkers.expiry import check_quotes, check_session_expiry
from harness.checkers.fail_loud import check_fail_loud
from harness.checkers.invariants import check_invariants
from harness.checkers.lost_updates import check_lost_updates
from harness.checkers.rate_limit import check_rate_limit
from harness.checkers.sessions import check_sessions

#: What every state-kind scenario judges: durability, lost updates, counters, expiry, limits, cooldowns.
STATE_CHECKERS = (check_sessions, check_records, check_lost_updates, check_files, check_counters, check_quotes,
                  check_rate_limit, check_cooldowns)

__all__ = ["STATE_CHECKERS", "check_cooldowns", "check_counters", "check_fail_loud", "check_files", "check_invariants",
           "check_lost_updates", "check_quotes", "check_rate_limit", "check_records", "check_session_expiry", "check_sessions"]
