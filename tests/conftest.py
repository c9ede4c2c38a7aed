import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.append(str(Path(__file__).resolve().parent))  # after the repo root: tests/kernels must not shadow kernels

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], derandomize=False
)
settings.register_profile("ci", deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
