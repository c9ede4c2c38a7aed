"""Data: the Dataset value (arrays, name, split, canonical sha256), built-in data sets, data files, IDX
directories, the train/test pairs of ``certify optimize`` and ``certify compress``."""

from certify.data.builtins import BUILTINS, load_builtin
from certify.data.dataset import Dataset, Split, dataset_sha256
from certify.data.files import load_data_file
from certify.data.idx import FASHION_MNIST_DIR, load_idx_dir
from certify.data.load import load_data

__all__ = ["BUILTINS", "FASHION_MNIST_DIR", "Dataset", "Split", "dataset_sha256", "load_builtin", "load_data",
           "load_data_file", "load_idx_dir"]
