"""Hypothesis profiles for the fuzz tests, chosen by VERIFYBOT_HYPOTHESIS_PROFILE.

`ci` (the default) runs a few hundred examples per target with a fixed seed, so every run of the
suite tries the same inputs and a failure reproduces; `full` runs the 10,000 examples per target
the issue asks for, with fresh random inputs each time (run it by hand or nightly:
`VERIFYBOT_HYPOTHESIS_PROFILE=full pytest tests/unit/test_fuzz_*.py --hypothesis-show-statistics`).
No example database is written: a failure prints its reproduction blob instead.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "VERIFYBOT_HYPOTHESIS_PROFILE"

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,  # a loaded CI machine must not turn a slow example into a failure
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "full",
    max_examples=10_000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get(PROFILE_VARIABLE, "ci"))
