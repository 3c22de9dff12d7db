"""The detector hook of `shard --face-detector FILE`: something that finds boxes to blur.

A detector is any object with `boxes(image) -> list[(x_min, y_min, x_max, y_max)]`, fractions
in [0, 1] of the RGB PIL image it is given (the stored image, as it goes into the shard).
`load_detector` builds the one implementation shipped, on OpenCV and a model file the user
passes: a Haar cascade `.xml` (opencv-python ships `haarcascade_frontalface_default.xml` in
`cv2.data.haarcascades`) or a YuNet face detection `.onnx` (`cv2.FaceDetectorYN`, OpenCV
model zoo's `face_detection_yunet_2023mar.onnx`). Another detector plugs in by implementing
`Detector` and returning it from `load_detector`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from wit_pipeline.core.errors import InputError
from wit_pipeline.stages.shard.blur import Box

YUNET_SCORE = 0.6
"""YuNet's own default confidence threshold."""


class Detector(Protocol):
    """Finds boxes to blur in one image."""

    def boxes(self, image: Image.Image) -> list[Box]:
        """Boxes as fractions of the image: (x_min, y_min, x_max, y_max)."""
        ...


class OpenCVFaces:
    """Faces by an OpenCV model file: a Haar cascade (.xml) or YuNet (.onnx)."""

    def __init__(self, path: str) -> None:
        import cv2

        self.path = path
        if path.endswith(".xml"):
            try:
                self.cascade = cv2.CascadeClassifier(path)
            except (cv2.error, SystemError):  # OpenCV raises either for a broken file
                self.cascade = None
            if self.cascade is None or self.cascade.empty():
                raise InputError(f"--face-detector {path}: not an OpenCV cascade")
            self.yunet = None
        else:
            try:
                self.yunet = cv2.FaceDetectorYN.create(path, "", (320, 320), YUNET_SCORE)
            except (cv2.error, SystemError):
                raise InputError(f"--face-detector {path}: not a YuNet model") from None
            self.cascade = None

    def boxes(self, image: Image.Image) -> list[Box]:
        """Every face found, as fractions of the image."""
        import cv2

        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
        if self.cascade is not None:
            grey = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
            found = self.cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5)
            rects = [tuple(map(float, r)) for r in found] if len(found) else []
        else:
            self.yunet.setInputSize((width, height))
            _, faces = self.yunet.detect(pixels)
            rects = [tuple(map(float, f[:4])) for f in faces] if faces is not None else []
        return [
            (max(0.0, x / width), max(0.0, y / height),
             min(1.0, (x + w) / width), min(1.0, (y + h) / height))
            for x, y, w, h in rects
        ]  # fmt: skip


def load_detector(path: str) -> Detector:
    """The detector for a model file; InputError when it is missing or not a model."""
    if not Path(path).is_file():
        raise InputError(f"--face-detector {path}: no such file")
    if not path.endswith((".xml", ".onnx")):
        raise InputError(f"--face-detector {path}: expected an OpenCV cascade .xml or YuNet .onnx")
    return OpenCVFaces(path)
