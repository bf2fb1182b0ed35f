"""Sensors: cameras with their calibration, and every other sensor kapture knows.

A dataset's sensors are a plain ``dict[str, Camera | Sensor]`` keyed by sensor id, as in kapture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Parameters after width and height, per camera model (COLMAP's models, as kapture names them).
CAMERA_MODEL_PARAMS: dict[str, tuple[str, ...]] = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
    "OPENCV_FISHEYE": ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "k4"),
    "FULL_OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"),
    "FOV": ("fx", "fy", "cx", "cy", "omega"),
    "SIMPLE_RADIAL_FISHEYE": ("f", "cx", "cy", "k"),
    "RADIAL_FISHEYE": ("f", "cx", "cy", "k1", "k2"),
    "THIN_PRISM_FISHEYE": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3", "k4", "sx1", "sx2"),
    "UNKNOWN_CAMERA": (),
}

CAMERA_SENSOR_TYPES = ("camera", "depth")
OTHER_SENSOR_TYPES = ("lidar", "wifi", "bluetooth", "gnss", "accelerometer", "gyroscope", "magnetic",
                      "odometry")
SENSOR_TYPES = CAMERA_SENSOR_TYPES + OTHER_SENSOR_TYPES


@dataclass(frozen=True)
class Camera:
    """A calibrated (or UNKNOWN_CAMERA) camera; ``params`` excludes width and height."""

    model: str
    width: int
    height: int
    params: tuple[float, ...] = ()
    name: str = ""
    sensor_type: str = "camera"

    def __post_init__(self) -> None:
        if self.model not in CAMERA_MODEL_PARAMS:
            raise ValueError(f"unknown camera model '{self.model}' "
                             f"(known: {', '.join(CAMERA_MODEL_PARAMS)})")
        expected = len(CAMERA_MODEL_PARAMS[self.model])
        if len(self.params) != expected:
            raise ValueError(f"camera model {self.model} takes {expected} parameters after width and "
                             f"height ({', '.join(CAMERA_MODEL_PARAMS[self.model]) or 'none'}), "
                             f"got {len(self.params)}")
        if self.sensor_type not in CAMERA_SENSOR_TYPES:
            raise ValueError(f"a camera's sensor type is one of {CAMERA_SENSOR_TYPES}, not '{self.sensor_type}'")
        object.__setattr__(self, "params", tuple(float(p) for p in self.params))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def param_dict(self) -> dict[str, float]:
        return dict(zip(CAMERA_MODEL_PARAMS[self.model], self.params))

    @property
    def is_calibrated(self) -> bool:
        return self.model != "UNKNOWN_CAMERA"

    @property
    def focal(self) -> tuple[float, float]:
        """(fx, fy) in pixels; for UNKNOWN_CAMERA, a guess of 1.2 x the larger image side."""
        p = self.param_dict
        if "f" in p:
            return p["f"], p["f"]
        if "fx" in p:
            return p["fx"], p["fy"]
        guess = guess_focal(self.width, self.height)
        return guess, guess

    @property
    def principal_point(self) -> tuple[float, float]:
        p = self.param_dict
        if "cx" in p:
            return p["cx"], p["cy"]
        return self.width / 2.0, self.height / 2.0

    @property
    def K(self) -> np.ndarray:
        """3x3 intrinsic matrix (distortion ignored), COLMAP pixel convention."""
        fx, fy = self.focal
        cx, cy = self.principal_point
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])

    @property
    def has_distortion(self) -> bool:
        return self.model not in ("SIMPLE_PINHOLE", "PINHOLE", "UNKNOWN_CAMERA") and any(
            v != 0.0 for k, v in self.param_dict.items() if k not in ("f", "fx", "fy", "cx", "cy"))

    def scaled(self, factor: float) -> Camera:
        """The same camera for an image resized by ``factor`` (pixel-centre convention kept)."""
        p = dict(self.param_dict)
        for k in ("f", "fx", "fy", "cx", "cy"):
            if k in p:
                p[k] *= factor
        return Camera(self.model, round(self.width * factor), round(self.height * factor),
                      tuple(p[k] for k in CAMERA_MODEL_PARAMS[self.model]), self.name, self.sensor_type)


@dataclass(frozen=True)
class Sensor:
    """Any non-camera sensor: its parameters are kept as the strings of the file."""

    sensor_type: str
    params: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""


Sensors = dict  # dict[str, Camera | Sensor], keyed by sensor id


def guess_focal(width: int, height: int, focal_factor: float = 1.2) -> float:
    """The focal length, in pixels, assumed for a camera without intrinsics: 1.2 x the larger image side
    (COLMAP's guess for an image without EXIF)."""
    return focal_factor * max(width, height)


def unknown_camera_guess(width: int, height: int, model: str = "SIMPLE_PINHOLE",
                         focal_factor: float = 1.2) -> Camera:
    """A camera without intrinsics as ``model``: the focal guess (``guess_focal``), the principal point at
    the image centre, no distortion."""
    if model not in CAMERA_MODEL_PARAMS:
        raise ValueError(f"unknown camera model '{model}' (known: {', '.join(CAMERA_MODEL_PARAMS)})")
    f = guess_focal(width, height, focal_factor)
    values = {"f": f, "fx": f, "fy": f, "cx": width / 2.0, "cy": height / 2.0}
    return Camera(model, width, height, tuple(values.get(p, 0.0) for p in CAMERA_MODEL_PARAMS[model]))
