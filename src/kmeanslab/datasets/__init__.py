"""Datasets: the course's teaching data, bundled, generated or fetched, each as a :class:`Dataset`.

A :class:`Dataset` holds ``data`` (n_samples, n_features), and where they exist the true class
of each sample (``target``), the samples as images (``images``) and ``feature_names``; it
unpacks as ``X, y = dataset``.

Where each kind of data comes from:

- the course's small datasets (:mod:`.course`): :func:`load_faithful` (bundled with kmeanslab)
  and :func:`load_digits` (ships with scikit-learn);
- synthetic data (:mod:`.generators`): :func:`make_blobs`, and :func:`train_val_split` to hold
  out validation rows;
- MNIST (:mod:`.mnist`): :func:`load_mnist` reads the original IDX files (:func:`read_idx`) from
  the data home; :func:`load_mnist_pickle` and :func:`load_mnist_json` read the two other formats
  the course notebooks used (``mnist.pkl.gz`` and base64 JSON lines); :func:`load_dataset_file`
  picks the reader by a file's name;
- documents (:mod:`.debian`): :func:`load_debian_descriptions`, the package descriptions of the
  machine's apt lists labelled by Debian section (a :class:`TextDataset`);
- getting MNIST (:mod:`.fetch`): :func:`fetch_mnist` downloads the four files and keeps only
  those with the published MD5; :func:`list_datasets` says what is here and where.

Where the MNIST files live (:mod:`._paths`): the ``data_home`` argument, else
``$KMEANSLAB_DATA``, else the user cache directory (platformdirs); inside it, files are looked
for in ``mnist/`` and then at the top level, each gzipped or not.

>>> from kmeanslab.datasets import make_blobs, train_val_split
>>> train, val = train_val_split(make_blobs(100, centers=3, seed=0), val=0.2, seed=0)
>>> train.data.shape, val.data.shape
((80, 2), (20, 2))
"""

from ._base import Dataset
from ._paths import DATA_ENV, FETCH_COMMAND, MNIST_FILES, find_mnist_files, get_data_home
from .course import load_digits, load_faithful
from .debian import TextDataset, load_debian_descriptions
from .fetch import MIRROR_ENV, MNIST_MD5, MNIST_MIRRORS, MNIST_SIZES, DatasetStatus, fetch_mnist, list_datasets
from .generators import make_blobs, train_val_split
from .mnist import load_dataset_file, load_mnist, load_mnist_json, load_mnist_pickle, read_idx

__all__ = [
    "Dataset",
    "TextDataset",
    "load_debian_descriptions",
    "DatasetStatus",
    "load_faithful",
    "make_blobs",
    "train_val_split",
    "load_digits",
    "load_mnist",
    "load_mnist_pickle",
    "load_mnist_json",
    "load_dataset_file",
    "fetch_mnist",
    "read_idx",
    "get_data_home",
    "find_mnist_files",
    "list_datasets",
    "DATA_ENV",
    "MIRROR_ENV",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_SIZES",
    "MNIST_MIRRORS",
    "FETCH_COMMAND",
]
