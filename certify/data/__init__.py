"""Data: the Dataset value (arrays, name, split, canonical sha256), built-in data sets, data files, IDX
directories, torch Datasets/DataLoaders, data roles (held-out vs training sample), the train/test pairs of
``certify optimize`` and ``certify compress``."""

from certify.data.builtins import BUILTINS, load_builtin
from certify.data.dataset import Dataset, Split, dataset_sha256
from certify.data.files import load_data_file
from certify.data.idx import FASHION_MNIST_DIR, load_idx_dir
from certify.data.load import load_data
from certify.data.roles import Role, check_role, role_of
from certify.data.torch_data import from_torch

__all__ = ["BUILTINS", "FASHION_MNIST_DIR", "Dataset", "Role", "Split", "check_role", "dataset_sha256", "from_torch",
           "load_builtin", "load_data", "load_data_file", "load_idx_dir", "role_of"]
