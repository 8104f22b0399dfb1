"""Motion movies for the HD-SNN layer (``circuits.hdsnn.layer``): photographs bundled with
scikit-image, whitened as in Grimaldi & Perrinet (2023) (the Olshausen & Field 1996 filter
``f exp(-(f / f0)^4)`` equalises the energy of each frequency band), viewed through a moving
window whose trajectory is a saccade-like random walk: segments of constant motion with
Poisson-distributed durations (mean 24 ms), each one of ``n_directions`` directions x
``speeds`` (pixels per 1 ms step; the paper's unit speed is one pixel per frame), drawn
uniformly. Frames every 1 ms (cubic-spline sub-pixel shifts) become events through
``neurosim.events.EventCameraSimulator`` (ESIM/v2e). Training and held-out movies come from
disjoint photographs (``make_motion_data``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.events import EventCameraSimulator

__all__ = ["SPEEDS", "TRAIN_IMAGES", "TEST_IMAGES", "MotionClasses", "whiten", "photograph", "saccade_labels", "motion_movie",
           "events_to_raster", "MotionData", "make_motion_data"]


SPEEDS = (0.5, 1.0, 2.0)
"""Default speeds in pixels per 1 ms step, geometrically spaced as in the paper (whose
source leaves the values out). A slower set (0.25, 0.5, 1) was tried first: at 0.25
px/ms the whitened texture moves a quarter pixel per step and the layer found the
direction only 28% of the time, against ~68% at 0.5 and 1 px/ms."""


#: The scikit-image photographs the training movies are made of (``TEST_IMAGES`` are held out).
TRAIN_IMAGES = ("camera", "astronaut", "coffee", "rocket", "grass", "gravel", "brick", "moon", "hubble_deep_field",
                "immunohistochemistry")


TEST_IMAGES = ("chelsea", "coins", "retina")
"""scikit-image photographs (all bundled, none downloaded): held-out movies use the test
photographs, never seen in training."""


@dataclass(frozen=True)
class MotionClasses:
    """``n_directions`` directions (0 = rightwards, counter-clockwise, evenly spaced) times
    ``speeds`` (pixels per step). Class ``k`` has direction ``k // len(speeds)`` and speed
    ``k % len(speeds)``."""

    n_directions: int = 12
    speeds: tuple = SPEEDS

    @property
    def n_classes(self) -> int:
        return self.n_directions * len(self.speeds)

    def direction(self, k):
        """Direction index of class(es) ``k``."""
        return np.asarray(k) // len(self.speeds)

    def velocity(self, k) -> np.ndarray:
        """Image motion (vx, vy) in pixels per step of class(es) ``k``; y grows downwards."""
        k = np.asarray(k)
        angle = 2 * np.pi * self.direction(k) / self.n_directions
        speed = np.asarray(self.speeds)[k % len(self.speeds)]
        return np.stack([speed * np.cos(angle), -speed * np.sin(angle)], -1)


def whiten(image: np.ndarray, f0: float = 0.4) -> np.ndarray:
    """Whiten a 2-D image with the filter ``f exp(-(f / f0)^4)`` in the Fourier domain
    (Olshausen & Field 1996, Nature 381:607; ``f`` in cycles per pixel): natural images
    have ~1/f amplitude spectra, so this equalises the energy per frequency band; the
    roll-off at ``f0`` keeps pixel noise from dominating. ``image`` (H, W); returns (H, W)
    with zero mean and unit variance."""
    img = np.asarray(image, float)
    fy = np.fft.fftfreq(img.shape[0])[:, None]
    fx = np.fft.rfftfreq(img.shape[1])[None, :]
    f = np.sqrt(fx**2 + fy**2)
    out = np.fft.irfft2(np.fft.rfft2(img - img.mean()) * f * np.exp(-((f / f0) ** 4)), s=img.shape)
    return (out - out.mean()) / max(out.std(), 1e-12)


def photograph(name: str) -> np.ndarray:
    """A scikit-image photograph (``TRAIN_IMAGES`` or ``TEST_IMAGES``) in grey levels,
    whitened (``whiten``), (H, W). Raises ``ValueError`` listing the names for others."""
    import skimage.data
    from skimage.color import rgb2gray

    if name not in TRAIN_IMAGES + TEST_IMAGES:
        raise ValueError(f"unknown photograph {name!r}; use one of {', '.join(TRAIN_IMAGES + TEST_IMAGES)}")
    img = np.asarray(getattr(skimage.data, name)(), float)
    if img.ndim == 3:
        img = rgb2gray(img[..., :3])
    return whiten(img)


def saccade_labels(n_steps: int, classes: MotionClasses, rng: np.random.Generator, mean_segment: float = 24.0) -> np.ndarray:
    """Motion class per step (n_steps,): segments of one class with durations drawn from a
    Poisson distribution of mean ``mean_segment`` steps (at least 1), each class uniform."""
    labels = np.empty(n_steps, np.int64)
    t = 0
    while t < n_steps:
        length = max(1, int(rng.poisson(mean_segment)))
        labels[t : t + length] = rng.integers(classes.n_classes)
        t += length
    return labels


def motion_movie(image: np.ndarray, labels: np.ndarray, classes: MotionClasses, size: int, rng: np.random.Generator,
                 spline_coefficients: np.ndarray | None = None) -> np.ndarray:
    """Frames (T + 1, size, size) of ``image`` seen through a window that moves so the
    content moves with ``classes.velocity(labels[t])`` between frames t and t + 1 (cubic
    spline interpolation; pass ``scipy.ndimage.spline_filter(image)`` as
    ``spline_coefficients`` to skip refiltering the photograph for every movie). The
    trajectory is placed at random where it stays 4 pixels inside the image. Intensities
    are the whitened image mapped to positive values (``0.5 + w / 6``, clipped to
    [0.02, 1]) for the camera's log. ``image`` (H, W), ``labels`` (T,). Raises
    ``ValueError`` when the image is too small for the window on this trajectory."""
    from scipy.ndimage import map_coordinates, spline_filter

    v = classes.velocity(labels)
    # the window moves opposite to the content
    path = np.concatenate([np.zeros((1, 2)), -np.cumsum(v, 0)])  # (T + 1, 2) window offsets (x, y)
    lo, hi = path.min(0), path.max(0)
    room = np.array(image.shape[::-1]) - size - (hi - lo) - 8
    if np.any(room <= 0):
        raise ValueError(f"image {image.shape} is too small for a {size}-pixel window on this trajectory")
    start = 4 - lo + rng.uniform(0, room)
    coef = spline_filter(image, order=3) if spline_coefficients is None else spline_coefficients
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    frames = np.empty((len(path), size, size))
    for k, (x0, y0) in enumerate(start + path):
        frames[k] = map_coordinates(coef, [rows + y0, cols + x0], order=3, prefilter=False)
    return np.clip(0.5 + frames / 6.0, 0.02, 1.0)


def events_to_raster(events: np.ndarray, n_steps: int, size: int, dt: float = 1e-3) -> np.ndarray:
    """Binary raster ``A`` (2, n_steps, size, size) uint8 [polarity (0 OFF, 1 ON), step,
    row, column] of ``neurosim.events.EVENT_DTYPE`` events (t in microseconds): 1 where a
    pixel emitted at least one event of that polarity during the step."""
    a = np.zeros((2, n_steps, size, size), np.uint8)
    step = np.minimum((events["t"] * 1e-6 / dt).astype(np.int64), n_steps - 1)
    a[events["p"].astype(np.int64), step, events["y"], events["x"]] = 1
    return a


@dataclass(frozen=True)
class MotionData:
    """``events`` (N, 2, T, S, S) uint8 rasters, ``labels`` (N, T) motion class of each step
    (the motion that caused that step's events), ``images`` (N,) source photograph names."""

    events: np.ndarray
    labels: np.ndarray
    images: tuple
    classes: MotionClasses

    def targets(self, n_delays: int) -> np.ndarray:
        """Label of each output step (N, T): output ``t`` sees events of steps t-1 ... t-D,
        so its target is the motion of step t - 1; steps t < D, whose history is
        incomplete, are -1 (ignored)."""
        y = np.full_like(self.labels, -1)
        y[:, n_delays:] = self.labels[:, n_delays - 1 : -1]
        return y

    def motion_age(self, n_delays: int) -> np.ndarray:
        """For each output step (N, T), how many steps its target motion has lasted: 1 when
        the motion changed at step t - 1, the detector's first chance to see it; -1 where
        the target is -1 (``targets``)."""
        n, n_t = self.labels.shape
        run = np.ones((n, n_t), np.int64)  # length of the current segment up to each input step
        for t in range(1, n_t):
            run[:, t] = np.where(self.labels[:, t] == self.labels[:, t - 1], run[:, t - 1] + 1, 1)
        age = np.full((n, n_t), -1, np.int64)
        age[:, n_delays:] = run[:, n_delays - 1 : -1]
        return age

    def settled(self, n_delays: int) -> np.ndarray:
        """Output steps (N, T) whose whole window (steps t-D ... t-1) lies in one motion
        segment (``motion_age >= D``): the kernel then sees only the current motion. The
        other steps follow a change of motion, which a causal detector cannot know yet."""
        return self.motion_age(n_delays) >= n_delays


def make_motion_data(images, n_movies: int, n_steps: int = 96, size: int = 40, classes: MotionClasses = MotionClasses(),
                     seed: int = 0, contrast_threshold: float = 0.2, mean_segment: float = 24.0, one_motion: bool = False,
                     progress: bool = False) -> MotionData:
    """``n_movies`` movies (cycling through ``images``, scikit-image photograph names) of
    ``n_steps`` 1 ms steps through a ``size`` x ``size`` window, turned into events by the
    event-camera simulator (threshold ``contrast_threshold``, 0.03 mismatch, seeded per
    movie). The motion follows ``saccade_labels``; with ``one_motion`` each movie has a
    single motion instead (the paper's test movies), every class equally often (up to the
    remainder) in a random order, so no class is tied to one photograph. Deterministic
    for a seed. Raises ``ValueError`` for unknown photograph names."""
    from scipy.ndimage import spline_filter
    from tqdm.auto import tqdm

    photos = {name: spline_filter(photograph(name), order=3) for name in images}
    rng = np.random.default_rng(seed)
    events = np.zeros((n_movies, 2, n_steps, size, size), np.uint8)
    labels = np.zeros((n_movies, n_steps), np.int64)
    names = []
    still = rng.permutation(np.arange(n_movies) % classes.n_classes) if one_motion else None
    for m in tqdm(range(n_movies), desc="generating motion movies", disable=not progress, leave=False):
        name = images[m % len(images)]
        labels[m] = still[m] if one_motion else saccade_labels(n_steps, classes, rng, mean_segment)
        frames = motion_movie(photos[name], labels[m], classes, size, rng, spline_coefficients=photos[name])
        camera = EventCameraSimulator(contrast_threshold=contrast_threshold, threshold_sigma=0.03, seed=int(rng.integers(2**31)))
        ev = camera.simulate(frames, np.arange(n_steps + 1) * 1e-3)
        events[m] = events_to_raster(ev, n_steps, size)
        names.append(name)
    return MotionData(events, labels, tuple(names), classes)
