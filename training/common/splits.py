"""A CIFAR-100 split, read from its pickle without trusting it.

The archive's pickles name three numpy callables (`_reconstruct`, `ndarray`, `dtype`).
Handing numpy's own to the unpickler would let a crafted pickle declare a dtype with an
object field and lay it over bytes it chooses: numpy would then read those bytes as a
pointer. So the unpickler gets stand-ins instead, which accept exactly what a CIFAR-100
split holds (uint8 pixel rows of 3,072 bytes, nothing else), and the array is built here
from the checked bytes with a dtype fixed here.
"""

import io
import pickle
import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.common import cifar
from training.common.errors import TrainingError

ROW_BYTES = 3 * cifar.IMAGE_SIDE * cifar.IMAGE_SIDE  # 3,072: red, green, blue planes
# The pickled state of numpy's uint8 dtype: version 3, no byte order, no fields,
# no names, no subarray, default size and alignment, no flags.
UINT8_DTYPE_STATE = (3, "|", None, None, None, -1, -1, 0)


class NotCifarArchive(TrainingError):
    """A complete file that is not CIFAR-100's python-version layout."""


class ForbiddenPickle(NotCifarArchive):
    """A pickle that refers to, or builds, something a CIFAR-100 split never holds."""


class MalformedSplit(NotCifarArchive):
    """A split whose data, labels or names do not fit together as CIFAR-100's do."""


@dataclass(frozen=True)
class Split:
    """One split, checked: row i of `pixels` is the image named `filenames[i]`."""

    pixels: np.ndarray  # uint8, (n, 3072)
    fine_labels: list[int]  # each in 0..99
    filenames: list[bytes]


def _text(value: Any) -> Any:
    """A Python 2 string as text: the archive has them as bytes, re-pickles as str."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Ndarray:
    """Stands for `numpy.ndarray`: only ever an argument of `_reconstruct`, never built."""

    def __init__(self, *args: Any) -> None:
        raise ForbiddenPickle("a pickle in the archive calls numpy.ndarray directly")

    def __setstate__(self, state: Any) -> None:
        raise ForbiddenPickle("a pickle in the archive sets the state of numpy.ndarray")


class _Uint8Dtype:
    """Stands for `numpy.dtype`: accepts uint8 and its pickled state, and nothing else."""

    made = False
    checked = False

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if _text(spec) != "u1":
            raise ForbiddenPickle(
                f"a pickle in the archive declares dtype {reprlib.repr(spec)}, not uint8"
            )
        self.made = True

    def __setstate__(self, state: Any) -> None:
        as_text = tuple(_text(part) for part in state) if isinstance(state, tuple) else state
        if not self.made or self.checked or as_text != UINT8_DTYPE_STATE:
            raise ForbiddenPickle(
                f"a pickle in the archive gives dtype uint8 the state {reprlib.repr(state)}"
            )
        self.checked = True


class _PixelArray:
    """Stands for `numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")` and its state."""

    made = False
    pixels: np.ndarray | None = None

    def __init__(self, subtype: Any, shape: Any, typecode: Any) -> None:
        if subtype is not _Ndarray or shape != (0,) or _text(typecode) != "b":
            raise ForbiddenPickle("a pickle in the archive reconstructs something not an array")
        self.made = True

    def __setstate__(self, state: Any) -> None:
        """numpy's array state: (version, shape, dtype, is_fortran, raw bytes)."""
        if not self.made or self.pixels is not None or not isinstance(state, tuple):
            raise ForbiddenPickle("a pickle in the archive builds an array out of order")
        version, shape, dtype, fortran, raw = state if len(state) == 5 else (None,) * 5
        rows = shape[0] if isinstance(shape, tuple) and len(shape) == 2 else None
        if not (isinstance(dtype, _Uint8Dtype) and dtype.checked):
            raise ForbiddenPickle("a pickle in the archive builds an array that is not uint8")
        if version != 1 or fortran is not False or not isinstance(raw, bytes):
            raise MalformedSplit("the archive's pixel data is not a plain C-ordered array")
        if not _is_int(rows) or shape[1] != ROW_BYTES or len(raw) != rows * ROW_BYTES:
            raise MalformedSplit(
                f"the archive's pixel data has shape {reprlib.repr(shape)} over {len(raw)} bytes: "
                f"expected (n, {ROW_BYTES}) over n x {ROW_BYTES} bytes"
            )
        self.pixels = np.frombuffer(raw, dtype=np.uint8).reshape(rows, ROW_BYTES)


STAND_INS = {
    ("numpy.core.multiarray", "_reconstruct"): _PixelArray,
    ("numpy._core.multiarray", "_reconstruct"): _PixelArray,
    ("numpy", "ndarray"): _Ndarray,
    ("numpy", "dtype"): _Uint8Dtype,
}


class _SplitUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in STAND_INS:
            raise ForbiddenPickle(f"a pickle in the archive refers to {module}.{name}")
        return STAND_INS[module, name]


# What a pickle built from plain values and the stand-ins can raise when it is malformed
# (a BUILD on a dict, an unhashable key, ...); truncation (EOFError, UnpicklingError) is
# left to the caller, which knows the archive it came from.
MALFORMED = (AttributeError, TypeError, ValueError, IndexError, KeyError, RecursionError)


def load(payload: bytes) -> Any:
    """The object pickled in `payload`, built from plain Python values and the stand-ins."""
    try:
        return _SplitUnpickler(io.BytesIO(payload), encoding="bytes").load()
    except MALFORMED as error:
        raise NotCifarArchive(
            f"a pickle in the archive is not a CIFAR-100 split ({type(error).__name__}: {error})"
        ) from error


def _fine_labels(value: Any, count: int) -> list[int]:
    if not isinstance(value, list) or len(value) != count:
        length = len(value) if isinstance(value, list) else type(value).__name__
        raise MalformedSplit(f"the archive has {length} fine labels for {count} images")
    if not all(_is_int(label) and 0 <= label < cifar.FINE_LABEL_COUNT for label in value):
        raise MalformedSplit(f"the archive has fine labels outside 0..{cifar.FINE_LABEL_COUNT - 1}")
    return value


def _filenames(value: Any, count: int) -> list[bytes]:
    if not isinstance(value, list) or len(value) != count:
        length = len(value) if isinstance(value, list) else type(value).__name__
        raise MalformedSplit(f"the archive has {length} file names for {count} images")
    if not all(isinstance(name, bytes) for name in value):
        raise MalformedSplit("the archive has file names that are not byte strings")
    return value


def to_split(batch: Any) -> Split:
    """The checked split from an unpickled batch: data, labels and names that agree."""
    keys = {cifar.DATA, cifar.FINE_LABELS, cifar.FILENAMES}
    if not isinstance(batch, dict) or not keys <= batch.keys():
        raise NotCifarArchive("a split of the archive lacks data, fine_labels or filenames")
    data = batch[cifar.DATA]
    if not isinstance(data, _PixelArray) or data.pixels is None:
        raise MalformedSplit(f"the archive's data is not a uint8 array of {ROW_BYTES}-byte rows")
    count = len(data.pixels)
    labels = _fine_labels(batch[cifar.FINE_LABELS], count)
    return Split(data.pixels, labels, _filenames(batch[cifar.FILENAMES], count))
