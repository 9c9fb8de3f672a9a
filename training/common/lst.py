"""`.lst` files: the image-classification algorithm's list of images, one per line.

Each line is `index<TAB>label<TAB>path`: label 0 = bicycle, 1 = motorcycle (the order of
`cifar.CLASSES`), and the path is relative to the data channel of the same split
(`bicycle_s_000513.png`, for `train/bicycle_s_000513.png`), as SageMaker resolves it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.common.errors import TrainingError


class MalformedLst(TrainingError):
    """A `.lst` line that is not index, label and path separated by tabs."""


@dataclass(frozen=True)
class LstEntry:
    index: int
    label: int  # 0 = bicycle, 1 = motorcycle (cifar.CLASSES order)
    path: str  # relative to the split folder, e.g. "bicycle_s_000513.png"


def parse_lst(text: str, source: str = "<text>") -> list[LstEntry]:
    """The entries of a `.lst` file's text (blank lines ignored)."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            index, label, path = fields
            entries.append(LstEntry(int(index), int(label), path))
        except ValueError as error:
            raise MalformedLst(
                f"{source}:{number}: expected index<TAB>label<TAB>path, got {line!r}"
            ) from error
    return entries


def read_lst(path: Path) -> list[LstEntry]:
    """The entries of a `.lst` file; paths are relative to the split folder it describes."""
    return parse_lst(Path(path).read_text(), str(path))


def format_lst(entries: Sequence[LstEntry]) -> str:
    """The text of a `.lst` file holding `entries`, in their order."""
    return "".join(f"{entry.index}\t{entry.label}\t{entry.path}\n" for entry in entries)
