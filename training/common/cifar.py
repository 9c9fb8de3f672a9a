"""CIFAR-100 (python version) layout: the one place that knows its names and keys."""

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
MD5 = "eb9058c3a382ffc7106e4002c42a8d85"

ROOT = "cifar-100-python"
SPLITS = ("train", "test")  # members ROOT/train and ROOT/test: pickled dicts with bytes keys
META = "meta"  # ROOT/meta: fine_label_names, coarse_label_names

# Keys of each split's pickled dict (bytes, as the archive was pickled under Python 2).
DATA = b"data"  # uint8 array (n, 3072): 1024 red, 1024 green, 1024 blue, row-major 32x32
FINE_LABELS = b"fine_labels"
COARSE_LABELS = b"coarse_labels"
FILENAMES = b"filenames"
BATCH_LABEL = b"batch_label"

IMAGE_SIDE = 32
FINE_LABEL_COUNT = 100
COARSE_LABEL_COUNT = 20

# Our two classes, in .lst label order: 0 = bicycle, 1 = motorcycle.
CLASSES = ("bicycle", "motorcycle")
FINE_LABEL_OF = {"bicycle": 8, "motorcycle": 48}
