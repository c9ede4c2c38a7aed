"""Session fixtures: one real Dask cluster (scheduler + two workers as separate processes) and tiny models."""

from __future__ import annotations

import pytest

from sweep_support import Cluster, tiny_models


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    return tiny_models(tmp_path_factory.mktemp("models"))
