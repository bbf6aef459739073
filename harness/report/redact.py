"""Redaction for reports: ``harness.redaction`` under the name the report modules know it by.

The machinery lives lower down (``harness.redaction``, just above the history) because
errors, specs, deployments and checkers use it too, and they must not import the report
layer. ``spec_secrets`` lives with the spec it reads (``harness.spec``).
"""

from __future__ import annotations

from harness.redaction import (DIGITS, MIN_LENGTH, PSEUDONYM, Redactor, env_secrets, is_secret_key,
                               is_secret_name, looks_random, mask_shapes, process_redactor, pseudonym,
                               redactor_for, remember, scrub, secrets_in_env, shaped_secrets)
from harness.spec import spec_secrets

__all__ = ["DIGITS", "MIN_LENGTH", "PSEUDONYM", "Redactor", "env_secrets", "is_secret_key", "is_secret_name",
           "looks_random", "mask_shapes", "process_redactor", "pseudonym", "redactor_for", "remember", "scrub",
           "secrets_in_env", "shaped_secrets", "spec_secrets"]
