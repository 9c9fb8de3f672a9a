"""Where the steps keep things in S3: the one place that names the keys.

The image-classification algorithm reads four channels. The PNGs of each split go to a data
channel, its `.lst` to a list channel; SageMaker resolves each path in a `.lst` against the
data channel of the same split, so the `.lst` paths are bare file names
(`bicycle_s_000513.png`), exactly as in the local folder that `training.etl` writes:

    local (training.etl --out DIR)     S3 (s3://BUCKET/PREFIX/...)          channel
    train/<name>.png                   train/<name>.png                     train
    test/<name>.png                    validation/<name>.png                validation
    train.lst                          train_lst/train.lst                  train_lst
    test.lst                           validation_lst/validation.lst        validation_lst
    manifest.jsonl                     manifest.jsonl                       (none)

CIFAR-100 has no validation split: its test split is the validation channel.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

from training.common.manifest import MANIFEST

DEFAULT_PREFIX = "scones-unlimited"
DATA_CHANNEL = {"train": "train", "test": "validation"}  # local split -> data channel
LST_CHANNEL = {"train": "train_lst", "test": "validation_lst"}  # local split -> list channel
CHANNELS = (*DATA_CHANNEL.values(), *LST_CHANNEL.values())


class UnknownDatasetFile(ValueError):
    """A local file that has no place in the S3 layout."""


@dataclass(frozen=True)
class S3Layout:
    """Keys and URIs under `s3://bucket/prefix/`."""

    bucket: str
    prefix: str = DEFAULT_PREFIX

    def key(self, *parts: str) -> str:
        return "/".join(part.strip("/") for part in (self.prefix, *parts) if part.strip("/"))

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"

    def channel_uri(self, channel: str) -> str:
        """The S3 prefix a channel reads (with a trailing slash: a folder, not a key prefix)."""
        return self.uri(channel) + "/"

    def lst_key(self, split: str) -> str:
        channel = LST_CHANNEL[split]
        return self.key(channel, f"{DATA_CHANNEL[split]}.lst")

    def key_for(self, relative_path: str) -> str:
        """The S3 key of a file that `training.etl` wrote, from its path relative to --out."""
        path = PurePosixPath(relative_path)
        if len(path.parts) == 2 and path.parts[0] in DATA_CHANNEL:
            return self.key(DATA_CHANNEL[path.parts[0]], path.name)
        if len(path.parts) == 1 and path.suffix == ".lst" and path.stem in LST_CHANNEL:
            return self.lst_key(path.stem)
        if relative_path == MANIFEST:  # beside the channels: a channel reads all it holds
            return self.key(MANIFEST)
        raise UnknownDatasetFile(f"{relative_path} has no place in the S3 layout")

    @property
    def output_uri(self) -> str:
        """Where training jobs write model.tar.gz (under <job name>/output/)."""
        return self.uri("models") + "/"

    @property
    def checkpoint_uri(self) -> str:
        """Where a spot training job keeps checkpoints to resume after an interruption."""
        return self.uri("checkpoints") + "/"

    @property
    def capture_uri(self) -> str:
        """Where the endpoint writes data-capture files (<endpoint>/<variant>/yyyy/mm/dd/hh/)."""
        return self.uri("data-capture")
