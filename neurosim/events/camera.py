"""An event-camera simulator (the model of ESIM and v2e) and moving-image movies.

Event camera (Rebecq, Gehrig & Scaramuzza 2018, "ESIM", CoRL; Hu, Liu & Delbruck 2021,
"v2e", CVPR Workshops): each pixel keeps a reference log intensity ``L_ref``; whenever the
log intensity ``L = log(I + eps)`` moves one contrast threshold above (below) it, the pixel
emits an ON (OFF) event and moves ``L_ref`` by that threshold. Between frames the log
intensity is interpolated linearly, which times each crossing. Thresholds differ per pixel
and polarity (Gaussian mismatch, sigma ``threshold_sigma``); after an event a pixel is blind
for ``refractory`` s (crossings in that time are not taken: the reference stays, as in a
real pixel whose reset is held); optional background noise adds Poisson events of random
polarity at ``noise_rate`` Hz per pixel.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numba import njit

from .io import EVENT_DTYPE

__all__ = ["EventCameraSimulator", "EventLimitError", "Movie", "moving_image_movie"]

_MAX_COORD = np.iinfo(EVENT_DTYPE["x"]).max  # x and y are int16 in EVENT_DTYPE
_MAX_SPAN_S = np.iinfo(np.int64).max / 1e6 / 2  # t is int64 microseconds
MAX_MOVIE_FRAMES = 1_000_000
"""Most frames ``moving_image_movie`` renders in one call (a frame is height x width floats)."""


class EventLimitError(ValueError):
    """The frames would produce more events than ``EventCameraSimulator.max_events``."""


@njit(cache=True)
def _crossings(l0, l1, l_ref, c_on, c_off, last_t, t0, t1, refractory, start, out_t, out_pix, out_p):
    """Emit the threshold crossings of pixels ``start, start + 1, ...`` between two frames
    (log intensities l0 at t0 and l1 at t1, flattened), updating ``l_ref`` and ``last_t``.

    Writes at most ``out_t.shape[0]`` events. Returns ``(n, next_pixel)``: ``n`` events
    written, and ``next_pixel == l1.shape[0]`` when every pixel is done; otherwise the buffer
    is full and a call with ``start = next_pixel`` continues exactly where this one stopped
    (that pixel's state already counts the events written)."""
    n = 0
    cap = out_t.shape[0]
    dt = t1 - t0
    for i in range(start, l1.shape[0]):
        dl = l1[i] - l0[i]
        while True:
            diff = l1[i] - l_ref[i]
            if diff >= c_on[i]:
                level = l_ref[i] + c_on[i]
                pol = 1
                step = c_on[i]
            elif -diff >= c_off[i]:
                level = l_ref[i] - c_off[i]
                pol = 0
                step = -c_off[i]
            else:
                break
            # time at which the linearly interpolated log intensity reaches the level
            frac = (level - l0[i]) / dl if dl != 0.0 else 1.0
            frac = min(max(frac, 0.0), 1.0)
            t = t0 + frac * dt
            if t - last_t[i] < refractory:
                break  # blind: the reference stays until the pixel can fire again
            if n == cap:
                return n, i
            l_ref[i] += step
            last_t[i] = t
            out_t[n] = t
            out_pix[n] = i
            out_p[n] = pol
            n += 1
    return n, l1.shape[0]


class EventCameraSimulator:
    """Turn intensity frames into events (see the module docstring).

    ``contrast_threshold`` (log-intensity units; v2e's default 0.2), ``threshold_sigma``
    (pixel-to-pixel standard deviation of the thresholds), ``min_threshold`` (floor of each
    pixel's drawn threshold, v2e's cutoff 0.01; it must not exceed ``contrast_threshold``:
    lower it to simulate a more sensitive sensor), ``refractory`` (s), ``noise_rate`` (Hz per
    pixel), ``eps`` (added to intensities before the log), ``max_events`` (the most events
    one ``simulate`` call may return; about 30 bytes of memory each while simulating),
    ``seed`` (integer >= 0).

    Raises ``ValueError`` naming the parameter for non-finite or out-of-range values.
    """

    def __init__(self, contrast_threshold=0.2, threshold_sigma=0.03, refractory=0.0, noise_rate=0.0, eps=1e-3, seed=0,
                 min_threshold=0.01, max_events=50_000_000):
        for name, value, positive in (("contrast_threshold", contrast_threshold, True), ("threshold_sigma", threshold_sigma, False),
                                      ("refractory", refractory, False), ("noise_rate", noise_rate, False), ("eps", eps, True),
                                      ("min_threshold", min_threshold, True)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value) or value < 0 or (positive and value == 0):
                raise ValueError(f"{name} = {value!r} is invalid: must be a finite number {'> 0' if positive else '>= 0'}")
        if contrast_threshold < min_threshold:
            raise ValueError(f"contrast_threshold = {contrast_threshold!r} is below min_threshold = {min_threshold!r} (the floor of "
                             f"each pixel's threshold); pass a smaller min_threshold to simulate so sensitive a sensor")
        if isinstance(max_events, bool) or not isinstance(max_events, (int, np.integer)) or max_events < 1:
            raise ValueError(f"max_events = {max_events!r} is invalid: must be an integer >= 1")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed = {seed!r} is invalid: must be an integer >= 0")
        self.contrast_threshold = float(contrast_threshold)
        self.threshold_sigma = float(threshold_sigma)
        self.min_threshold = float(min_threshold)
        self.refractory = float(refractory)
        self.noise_rate = float(noise_rate)
        self.eps = float(eps)
        self.max_events = int(max_events)
        self.seed = int(seed)

    def _too_many(self, count: int, k: int, at_least: bool) -> EventLimitError:
        return EventLimitError(f"frames {k - 1}->{k} bring the event count to {'at least ' if at_least else ''}{count:,}, "
                               f"more than max_events = {self.max_events:,}; raise max_events (about 30 bytes per event "
                               f"while simulating), raise contrast_threshold, or simulate fewer or smaller frames")

    @staticmethod
    def _check_inputs(frames, times):
        try:
            frames = np.asarray(frames, dtype=np.float64)
            times = np.asarray(times, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"frames and times must be numeric arrays: {exc}") from None
        if frames.ndim != 3 or times.shape != (frames.shape[0],):
            raise ValueError(f"frames must be (T, H, W) and times (T,); got {frames.shape} and {times.shape}")
        if frames.shape[0] < 2 or not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ValueError("need at least two frames with finite, strictly increasing times")
        if times[-1] - times[0] > _MAX_SPAN_S:
            raise ValueError(f"times span {times[-1] - times[0]:.3g} s: more than the int64 microsecond timestamps hold")
        _, h, w = frames.shape
        if not (1 <= h <= _MAX_COORD + 1 and 1 <= w <= _MAX_COORD + 1):
            raise ValueError(f"frames are {h} x {w} pixels: each side must be 1..{_MAX_COORD + 1} (int16 event coordinates)")
        if not np.all(np.isfinite(frames)) or frames.min() < 0:
            raise ValueError("frames must be finite intensities >= 0")
        return frames, times

    def simulate(self, frames, times) -> np.ndarray:
        """``frames`` (T, H, W) intensities >= 0 (any linear scale), ``times`` (T,) in s,
        increasing. Returns ``EVENT_DTYPE`` events (x = column, y = row, t in microseconds
        from the first frame, p = 1 ON / 0 OFF), sorted by time.

        Raises ``ValueError`` for malformed frames or times and ``EventLimitError`` (a
        ``ValueError``) as soon as the events would exceed ``max_events``.
        """
        frames, times = self._check_inputs(frames, times)
        rng = np.random.default_rng(self.seed)
        _, h, w = frames.shape
        npix = h * w
        logs = np.log(frames.reshape(frames.shape[0], npix) + self.eps)
        c_on = np.maximum(rng.normal(self.contrast_threshold, self.threshold_sigma, npix), self.min_threshold)
        c_off = np.maximum(rng.normal(self.contrast_threshold, self.threshold_sigma, npix), self.min_threshold)
        l_ref = logs[0].copy()
        last_t = np.full(npix, -np.inf)
        chunks_t, chunks_pix, chunks_p = [], [], []
        total = 0
        for k in range(1, frames.shape[0]):
            # without refractoriness a pixel crosses floor(|L - L_ref| / C) levels (give or take
            # one for rounding): size the buffer from that, and refuse early when even the
            # lower bound exceeds the limit; the kernel itself never writes past the buffer
            diff = logs[k] - l_ref
            levels = np.floor(np.abs(diff) / np.where(diff >= 0, c_on, c_off))
            at_least = total + int(np.maximum(levels - 1, 0).sum())
            if self.refractory == 0 and at_least > self.max_events:
                raise self._too_many(at_least, k, True)
            cap = int(min(levels.sum() + 1024, self.max_events - total + 1))
            start = 0
            while start < npix:
                out_t = np.empty(cap)
                out_pix = np.empty(cap, np.int64)
                out_p = np.empty(cap, np.int8)
                n, start = _crossings(logs[k - 1], logs[k], l_ref, c_on, c_off, last_t, times[k - 1], times[k],
                                      self.refractory, start, out_t, out_pix, out_p)
                chunks_t.append(out_t[:n])
                chunks_pix.append(out_pix[:n])
                chunks_p.append(out_p[:n])
                total += n
                if total > self.max_events:
                    raise self._too_many(total, k, start < npix)
                cap = int(min(max(2 * cap, 1024), self.max_events - total + 1))
            if self.noise_rate > 0:
                m = int(rng.poisson(self.noise_rate * npix * (times[k] - times[k - 1])))
                if total + m > self.max_events:
                    raise self._too_many(total + m, k, False)
                total += m
                chunks_t.append(rng.uniform(times[k - 1], times[k], m))
                chunks_pix.append(rng.integers(0, npix, m))
                chunks_p.append(rng.integers(0, 2, m).astype(np.int8))
        t = np.concatenate(chunks_t)
        pix = np.concatenate(chunks_pix)
        pol = np.concatenate(chunks_p)
        order = np.argsort(t, kind="stable")
        ev = np.empty(t.size, EVENT_DTYPE)
        ev["x"] = pix[order] % w
        ev["y"] = pix[order] // w
        ev["t"] = np.round((t[order] - times[0]) * 1e6).astype(np.int64)
        ev["p"] = pol[order]
        return ev


@dataclass(frozen=True)
class Movie:
    """``frames`` (T, H, W) in [0, 1], ``times`` (T,) s, and the true image motion
    ``velocity`` (vx, vy) in pixels/s (x to the right, y down, as image rows go)."""

    frames: np.ndarray
    times: np.ndarray
    velocity: tuple
    source: str


def moving_image_movie(image="camera", direction_deg=0.0, speed=30.0, size=(48, 48), duration=0.5, fps=500.0,
                       start=None) -> Movie:
    """A movie of a real photograph moving across the view at constant velocity.

    ``image``: a name of a scikit-image photograph (``"camera"``, ``"astronaut"``,
    ``"coffee"``, ``"chelsea"``, ``"rocket"``, ...) or a 2-D array. The content moves in
    ``direction_deg`` (0 = right, 90 = up, counter-clockwise) at ``speed`` pixels/s; frames
    are sampled with bilinear interpolation (sub-pixel motion) through a ``size`` window
    starting at ``start`` (row, col; default the image centre). ``duration`` (s, >= 0) and
    ``fps`` (frames per second, > 0) give ``round(duration * fps) + 1`` frames. Raises
    ``ValueError`` for an unknown image name, a window larger than the image, and a
    duration, frame rate, speed, direction or size that is not a finite number in range.
    """
    from scipy.ndimage import map_coordinates

    for name, value, low, strict in (("duration", duration, 0.0, False), ("fps", fps, 0.0, True), ("speed", speed, None, False),
                                     ("direction_deg", direction_deg, None, False)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
                or (low is not None and (value <= low if strict else value < low)):
            need = "a finite number" + ("" if low is None else f" {'>' if strict else '>='} {low:g}")
            raise ValueError(f"{name} = {value!r} is invalid: must be {need}")
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(v, numbers.Integral) and v >= 1 for v in size)):
        raise ValueError(f"size = {size!r} is invalid: give (height, width) in pixels, each >= 1")
    if int(round(duration * fps)) + 1 > MAX_MOVIE_FRAMES:
        raise ValueError(f"duration x fps = {duration * fps:.3g} frames, more than MAX_MOVIE_FRAMES = {MAX_MOVIE_FRAMES:,}")

    if isinstance(image, str):
        import skimage.data
        from skimage.color import rgb2gray

        if not hasattr(skimage.data, image):
            raise ValueError(f"unknown scikit-image photograph {image!r} (e.g. 'camera', 'astronaut', 'coffee', 'chelsea')")
        img = np.asarray(getattr(skimage.data, image)(), dtype=np.float64)
        source = f"skimage.data.{image}"
        if img.ndim == 3:
            img = rgb2gray(img[..., :3])
    else:
        img = np.asarray(image, dtype=np.float64)
        source = "array"
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    img = (img - img.min()) / max(np.ptp(img), 1e-12)
    h, w = size
    if h > img.shape[0] or w > img.shape[1]:
        raise ValueError(f"window {size} is larger than the image {img.shape}")
    n = int(round(duration * fps)) + 1
    times = np.arange(n) / fps
    vx = speed * math.cos(math.radians(direction_deg))
    vy = -speed * math.sin(math.radians(direction_deg))  # rows grow downwards
    r0, c0 = start if start is not None else ((img.shape[0] - h) / 2, (img.shape[1] - w) / 2)
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = np.empty((n, h, w))
    for k, t in enumerate(times):
        # content moving by (vx, vy) = the window moving by (-vx, -vy) over the image
        frames[k] = map_coordinates(img, [rows + r0 - vy * t, cols + c0 - vx * t], order=1, mode="reflect")
    return Movie(frames, times, (vx, vy), source)
