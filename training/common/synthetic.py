"""A SYNTHETIC archive in CIFAR-100's python-version layout. It is not CIFAR-100.

Where the real archive cannot be downloaded (CI, tests, benchmarks, machines without
internet), this writes a stand-in with the same members, keys, dtypes and pickle flavour,
so the ETL cannot tell them apart by format. Its two classes that matter are drawn to be
learnable: a bicycle is two thin wheel rings joined by a thin frame; a motorcycle is two
thick dark wheels under a solid coloured body. A share of them is drawn faint or partly
hidden, so that a good model is unsure of some: the workflow's low-confidence path needs
such images as much as its success path needs clear ones. The other 98 classes are noise.

    python -m training.common.synthetic --out synthetic-cifar-100.tar.gz --seed 0
"""

import argparse
import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.common import cifar

COARSE_TO_FINE = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}  # CIFAR-100's own names and superclasses; label numbers are their alphabetical order
COARSE_LABEL_NAMES = sorted(COARSE_TO_FINE)
FINE_LABEL_NAMES = sorted(fine for fines in COARSE_TO_FINE.values() for fine in fines)
COARSE_LABEL_OF = {
    fine: COARSE_LABEL_NAMES.index(coarse)
    for coarse, fines in COARSE_TO_FINE.items()
    for fine in fines
}

# Bump whenever the drawing changes: cached archives are named by it, so none goes stale.
GENERATOR_VERSION = 2
SUPERSAMPLE = 4  # shapes are drawn 4x larger, then shrunk: smooth edges, sub-pixel sizes
CANVAS = cifar.IMAGE_SIDE * SUPERSAMPLE
HARD_SHARE = 0.4  # share of bicycles and motorcycles drawn faint or partly hidden
FAINT_OPACITY = (0.05, 0.35)  # the faint: barely above the background grain
BATCH_LABELS = {"train": b"training batch 1 of 1", "test": b"testing batch 1 of 1"}
FIXED_MTIME = 0  # same seed, same bytes: no timestamps in the tar or gzip headers

Rgb = tuple[int, int, int]
Draw = Callable[[ImageDraw.ImageDraw, np.random.Generator], None]


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 `str`, as the original archive was pickled.

    Readers then behave exactly as on the real archive: `encoding="bytes"` gives bytes
    keys and names, `encoding="latin1"` gives str ones.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + struct.pack("<B", len(obj)) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def python2_pickle(obj: object) -> bytes:
    """Pickle `obj` with protocol 2 and Python 2 strings."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def _dark(rng: np.random.Generator) -> Rgb:
    return tuple(int(v) for v in rng.integers(0, 70, 3))


def _vivid(rng: np.random.Generator) -> Rgb:
    rgb = rng.integers(0, 256, 3)
    rgb[rng.integers(3)] = rng.integers(0, 60)  # one weak channel: a saturated colour
    rgb[rng.integers(3)] = rng.integers(170, 256)
    return tuple(int(v) for v in rgb)


def _layout(rng: np.random.Generator, radius: float) -> tuple[float, float, float]:
    """Wheel radius, rear and front hub x and the hubs' y, in canvas pixels, at random."""
    span = radius * rng.uniform(2.2, 3.0)
    rear_x = rng.uniform(radius * 0.6, CANVAS - span - radius * 0.6)
    hub_y = rng.uniform(CANVAS * 0.45, CANVAS - radius * 0.8)
    return rear_x, rear_x + span, hub_y


def draw_bicycle(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    """Two thin wheel rings and a thin diamond frame."""
    s = SUPERSAMPLE
    radius = rng.uniform(4.5, 7.5) * s
    rear_x, front_x, hub_y = _layout(rng, radius)
    ring, frame = _dark(rng), _vivid(rng)
    width = int(rng.uniform(0.8, 1.4) * s)
    for x in (rear_x, front_x):
        box = (x - radius, hub_y - radius, x + radius, hub_y + radius)
        draw.ellipse(box, outline=ring, width=width)
    crank = ((rear_x + front_x) / 2, hub_y)
    seat = (crank[0] - radius * 0.35, hub_y - radius * 1.2)
    head = (front_x - radius * 0.35, hub_y - radius * 1.2)
    for start, end in [
        ((rear_x, hub_y), crank),
        ((rear_x, hub_y), seat),
        (seat, crank),
        (seat, head),
        (head, crank),
        (head, (front_x, hub_y)),
    ]:
        draw.line((start, end), fill=frame, width=width)
    draw.line((head, (head[0] - radius * 0.3, head[1] - radius * 0.4)), fill=ring, width=width)
    draw.line((seat[0] - 1.5 * s, seat[1], seat[0] + 1.5 * s, seat[1]), fill=ring, width=width)


def draw_motorcycle(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    """Two thick dark wheels under a solid coloured body."""
    s = SUPERSAMPLE
    radius = rng.uniform(4.5, 7.0) * s
    rear_x, front_x, hub_y = _layout(rng, radius)
    tyre, body = _dark(rng), _vivid(rng)
    hub = tuple(int(v) for v in rng.integers(110, 200, 3))
    for x in (rear_x, front_x):
        draw.ellipse((x - radius, hub_y - radius, x + radius, hub_y + radius), fill=tyre)
        draw.ellipse(
            (x - radius / 3, hub_y - radius / 3, x + radius / 3, hub_y + radius / 3), fill=hub
        )
    top = hub_y - radius * rng.uniform(1.1, 1.5)
    body_box = (rear_x + radius * 0.3, top, front_x - radius * 0.2, hub_y - radius * 0.2)
    draw.rounded_rectangle(body_box, radius=2 * s, fill=body)
    seat = (rear_x - radius * 0.1, top - 1.5 * s, (rear_x + front_x) / 2, top + 0.5 * s)
    draw.rectangle(seat, fill=tyre)
    draw.line(((front_x - radius * 0.4, top), (front_x, hub_y)), fill=tyre, width=2 * s)


def _background(rng: np.random.Generator) -> np.ndarray:
    """A light, slightly tinted, unevenly lit background (float RGB, 32x32x3)."""
    base = rng.uniform(150, 235) + rng.uniform(-20, 20, 3)
    shade = rng.uniform(-25, 25, (2, 2, 3))
    light = np.asarray(
        Image.fromarray(np.uint8(np.clip(shade + 128, 0, 255))).resize(
            (cifar.IMAGE_SIDE, cifar.IMAGE_SIDE), Image.BILINEAR
        ),
        dtype=np.float64,
    )
    return base + light - 128


def _object_layer(draw_object: Draw, rng: np.random.Generator) -> np.ndarray:
    """The object alone as RGBA floats in [0, 1] at 32x32, randomly mirrored."""
    layer = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    draw_object(ImageDraw.Draw(layer), rng)
    if rng.random() < 0.5:
        layer = layer.transpose(Image.FLIP_LEFT_RIGHT)
    small = layer.resize((cifar.IMAGE_SIDE, cifar.IMAGE_SIDE), Image.BOX)
    return np.asarray(small, dtype=np.float64) / 255


def _hide_a_side(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """Erase a band of 35-60 % of the object's extent, from one of its four sides."""
    axis = int(rng.integers(2))
    extent = np.flatnonzero(alpha.max(axis=1 - axis) > 0.05)  # never empty: objects fit
    width = round(rng.uniform(0.35, 0.6) * extent.size)
    band = slice(extent[0], extent[0] + width)
    if rng.random() < 0.5:
        band = slice(extent[-1] + 1 - width, extent[-1] + 1)
    hidden = alpha.copy()
    hidden[(band, slice(None)) if axis == 0 else (slice(None), band)] = 0
    return hidden


def _ambiguity(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """Fade or partly hide a HARD_SHARE of objects, so a model may rightly be unsure."""
    if rng.random() >= HARD_SHARE:
        return alpha * rng.uniform(0.85, 1.0)
    if rng.random() < 0.5:
        return alpha * rng.uniform(*FAINT_OPACITY)
    return _hide_a_side(rng, alpha)


def draw_image(draw_object: Draw, rng: np.random.Generator) -> np.ndarray:
    """One 32x32 RGB uint8 picture of the object on a noisy background."""
    layer = _object_layer(draw_object, rng)
    alpha = _ambiguity(rng, layer[..., 3])[..., None]
    picture = _background(rng) * (1 - alpha) + layer[..., :3] * 255 * alpha
    picture += rng.normal(0, rng.uniform(3, 12), picture.shape)
    return np.uint8(np.clip(np.rint(picture), 0, 255))


def draw_noise(rng: np.random.Generator) -> np.ndarray:
    """A stand-in for the 98 classes the workflow ignores: smooth colour blobs and grain."""
    blobs = Image.fromarray(np.uint8(rng.integers(0, 256, (4, 4, 3))))
    smooth = blobs.resize((cifar.IMAGE_SIDE, cifar.IMAGE_SIDE), Image.BICUBIC)
    picture = np.asarray(smooth, dtype=np.float64) + rng.normal(0, 10, (32, 32, 3))
    return np.uint8(np.clip(np.rint(picture), 0, 255))


DRAWINGS: dict[str, Draw] = {"bicycle": draw_bicycle, "motorcycle": draw_motorcycle}


def to_cifar_row(picture: np.ndarray) -> np.ndarray:
    """32x32x3 pixels to CIFAR's row: all red, then all green, then all blue."""
    return picture.transpose(2, 0, 1).reshape(-1)


def _draw_class(name: str, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    drawing = DRAWINGS.get(name)
    if drawing is None:
        return [draw_noise(rng) for _ in range(count)]
    return [draw_image(drawing, rng) for _ in range(count)]


def make_split(
    split: str, counts: Sequence[int], rng: np.random.Generator, first_number: int = 0
) -> dict[bytes, object]:
    """One split's pickled dict: `counts[label]` images of each fine label, shuffled."""
    rows, fine_labels, filenames = [], [], []
    for label, (name, count) in enumerate(zip(FINE_LABEL_NAMES, counts, strict=True)):
        rows += [to_cifar_row(picture) for picture in _draw_class(name, count, rng)]
        fine_labels += [label] * count
        numbers = range(first_number, first_number + count)
        filenames += [f"{name}_s_{number:06d}.png".encode() for number in numbers]
    order = rng.permutation(len(rows))
    return {
        cifar.BATCH_LABEL: BATCH_LABELS[split],
        cifar.FINE_LABELS: [fine_labels[i] for i in order],
        cifar.COARSE_LABELS: [COARSE_LABEL_OF[FINE_LABEL_NAMES[fine_labels[i]]] for i in order],
        cifar.DATA: np.stack(rows)[order],
        cifar.FILENAMES: [filenames[i] for i in order],
    }


def _counts(per_class: int, other_per_class: int) -> list[int]:
    return [per_class if name in cifar.CLASSES else other_per_class for name in FINE_LABEL_NAMES]


def _meta() -> dict[bytes, list[bytes]]:
    return {
        b"fine_label_names": [name.encode() for name in FINE_LABEL_NAMES],
        b"coarse_label_names": [name.encode() for name in COARSE_LABEL_NAMES],
    }


def _add_member(archive: tarfile.TarFile, name: str, payload: bytes | None) -> None:
    info = tarfile.TarInfo(f"{cifar.ROOT}/{name}" if name else cifar.ROOT)
    info.mtime = FIXED_MTIME
    if payload is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(info)
        return
    info.size, info.mode = len(payload), 0o644
    archive.addfile(info, io.BytesIO(payload))


def write_archive(
    path: Path,
    *,
    seed: int = 0,
    train_per_class: int = 500,
    test_per_class: int = 100,
    other_per_class: int = 5,
) -> str:
    """Write the synthetic archive to `path` and return its MD5 hex digest.

    `*_per_class` count bicycles and motorcycles per split; `other_per_class` counts each
    of the other 98 classes per split. Same arguments, same bytes.
    """
    rng = np.random.default_rng(seed)
    test_numbers_from = max(train_per_class, other_per_class)  # file names unique across splits
    members = {
        "train": make_split("train", _counts(train_per_class, other_per_class), rng),
        "test": make_split(
            "test", _counts(test_per_class, other_per_class), rng, test_numbers_from
        ),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with (
        partial.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=FIXED_MTIME) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as archive,
    ):
        _add_member(archive, "", None)
        for split in cifar.SPLITS:
            _add_member(archive, split, python2_pickle(members[split]))
        _add_member(archive, cifar.META, python2_pickle(_meta()))
    partial.replace(path)
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 (a checksum, as CIFAR's)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m training.common.synthetic",
        description="Write a SYNTHETIC archive in CIFAR-100's layout (not CIFAR-100) "
        "and print its MD5.",
    )
    parser.add_argument("--out", type=Path, required=True, help="the .tar.gz to write")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes")
    parser.add_argument("--train-per-class", type=int, default=500, metavar="N")
    parser.add_argument("--test-per-class", type=int, default=100, metavar="N")
    parser.add_argument("--other-per-class", type=int, default=5, metavar="N")
    args = parser.parse_args(argv)
    print(
        write_archive(
            args.out,
            seed=args.seed,
            train_per_class=args.train_per_class,
            test_per_class=args.test_per_class,
            other_per_class=args.other_per_class,
        )
    )


if __name__ == "__main__":
    main()
