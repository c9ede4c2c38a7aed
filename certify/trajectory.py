"""The trajectory recorder under its public path ``certify.trajectory``; it lives in
:mod:`certify.training.trajectory`."""

from certify.training.trajectory import Trajectory, TrajectoryRecorder, load_trajectory

__all__ = ["Trajectory", "TrajectoryRecorder", "load_trajectory"]
