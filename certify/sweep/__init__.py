"""certify.sweep: model-zoo sweeps on Dask ``distributed`` (``certify sweep SPEC``).

``spec`` (the TOML specification), ``jobs`` (one model x one job kind, and its resume key), ``worker`` (what a Dask
worker runs: the ``certify run`` pipeline, ``analyze``, the measured gap), ``store`` (the Parquet result table,
written atomically), ``engine`` (LocalCluster or an existing scheduler, progress, resume), ``zoo`` and ``archs``
(the grid generator and its architectures), ``stats`` and ``report`` (Kendall tau and Jiang et al.'s granulated
Psi against the generalization gap).
"""

from certify.sweep.engine import SweepResult, dask_client, run_sweep
from certify.sweep.jobs import Job, expand_jobs, job_key
from certify.sweep.report import Correlation, correlation_study, write_report
from certify.sweep.spec import JobSpec, ModelGroup, SweepSpec, ZooSpec, load_spec, parse_spec
from certify.sweep.stats import Granulated, granulated_kendall, kendall_tau
from certify.sweep.store import COLUMNS, ResultStore
from certify.sweep.worker import execute, float_outward
from certify.sweep.zoo import ZooModel, train_zoo_model, zoo_models

__all__ = ["COLUMNS", "Correlation", "Granulated", "Job", "JobSpec", "ModelGroup", "ResultStore", "SweepResult",
           "SweepSpec", "ZooModel", "ZooSpec", "correlation_study", "dask_client", "execute", "expand_jobs",
           "float_outward", "granulated_kendall", "job_key", "kendall_tau", "load_spec", "parse_spec", "run_sweep",
           "train_zoo_model", "write_report", "zoo_models"]
