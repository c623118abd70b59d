"""Test-wide settings.

Hypothesis: no per-example deadline (a loaded 2-core CI machine is slow, not
wrong); under CI (``CI=true``) the examples are derandomized, so a run is
repeatable and a red CI can be reproduced, while local runs keep exploring.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("local", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")
