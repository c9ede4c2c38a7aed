"""tests/cuda runs only where numba.cuda can launch kernels: a real GPU, or the simulator.

CI (``make test``) runs this folder in a second pytest process with ``NUMBA_ENABLE_CUDASIM=1`` (numba reads it
at import); the main process, without the simulator and without a GPU, skips the folder.
"""

from kernels._device import cuda_usable

collect_ignore_glob = [] if cuda_usable() else ["test_*.py"]
