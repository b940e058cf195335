"""Per-window accelerometer features, vectorised over all windows at once.

Device axes follow the usual wearable convention: z is the normal of the device face
(the face points away from the body), x and y lie in the face plane.  Features fall into
three groups, by which device rotations leave them unchanged:

* motion features (``MOTION_FEATURES``): magnitudes, spreads, jerk, periodicity and the
  angles between 0.5 s block means, unchanged by any rotation of the device;
* face tilt (``grav_z``, ``grav_abs_z``): unchanged by rotations about z, so they do not
  depend on how the band is turned in the face plane; ``grav_abs_z`` is also unchanged
  when the device is flipped face-in;
* in-plane gravity components (``grav_x``, ``grav_y`` and their absolute values): depend
  on the in-plane orientation; a location only uses them when that orientation is fixed
  by how the band is worn (see ``LOCATION_FEATURES``).

Context features summarise the neighbouring windows of the same segment (mean and
spread over ``radius`` windows on each side), so a window's label can draw on up to
``radius`` windows of look-ahead and no more.

Cost on one core: about 0.65 s for a week of 5 s windows at 20 Hz (120 960 windows), a
few passes over the samples; there is no FFT.
"""

from __future__ import annotations

import numpy as np

GRAVITY_FEATURES: tuple[str, ...] = (
    "grav_x",
    "grav_y",
    "grav_z",
    "grav_abs_x",
    "grav_abs_y",
    "grav_abs_z",
)
MOTION_FEATURES: tuple[str, ...] = (
    "grav_norm",  # length of the window-mean vector: drops below 1 g when moving
    "mag_mean",
    "mag_std",
    "mag_range",
    "dyn_std",  # spread of the acceleration around the window mean, all directions
    "dyn_std_vertical",  # ... along the window's gravity direction
    "dyn_std_horizontal",  # ... perpendicular to it
    "jerk_mean",  # mean |d acc / dt| in g/s
    "half_turn",  # 1 - cos of the angle between the mean directions of the two halves
    "sway",  # mean (1 - cos) between 0.5 s block means and the window mean direction
    "cadence_corr",  # best magnitude autocorrelation over step-like lags (0.3-1.2 s)
)
FEATURE_NAMES: tuple[str, ...] = GRAVITY_FEATURES + MOTION_FEATURES
# Kept in every model file: a model reads the features it was fitted to, so one fitted
# to another version is refused (tracker.posture_model.OutdatedModelError).
# 1: cadence at seven lags; 2: cadence at every lag from 0.3 to 1.2 s.
FEATURES_VERSION = 2

# Which base features each wear location uses, and why.
LOCATION_FEATURES: dict[str, tuple[str, ...]] = {
    # A waist band sits upright on the belt (x roughly vertical, as in the HAPT recordings);
    # the small forward/backward pelvis tilt that separates sitting from standing shows on
    # the signed components.
    "waist": FEATURE_NAMES,
    # A watch's x axis runs along the forearm; the sign of x and y flips between left and
    # right wrist, so only their absolute values are used.  The face points out.
    "wrist": ("grav_z", "grav_abs_x", "grav_abs_y", "grav_abs_z", *MOTION_FEATURES),
    # On the thigh (a band, or a phone in a trouser pocket) the facing and the in-plane
    # turn are arbitrary (screen in or out, upright, sideways or upside down), so only the
    # tilt of the face normal and rotation-invariant motion are used.  Standing holds the
    # thigh vertical and the face normal horizontal; sitting tilts the normal up unless the
    # device sits on the side of the thigh, where only the stillness of sitting tells.
    "thigh": ("grav_abs_z", *MOTION_FEATURES),
}

# A step (0.3-0.6 s) or a stride (0.6-1.2 s).  Every lag in between is tried: people
# step at any pace, and a grid of a few lags (0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2 s, as
# before) fell between the peaks of half the WISDM thighs' walking.
_CADENCE_RANGE_S = (0.3, 1.2)
_SWAY_BLOCK_S = 0.5
# Spreads and angles span orders of magnitude (a still thigh sways ~1e-6, a standing one
# ~1e-4): they are stored as log10 so that neighbour means are not ruled by one outlier.
_LOG_FEATURES = frozenset(
    {
        "mag_std",
        "mag_range",
        "dyn_std",
        "dyn_std_vertical",
        "dyn_std_horizontal",
        "jerk_mean",
        "half_turn",
        "sway",
    }
)
_LOG_FLOOR = np.float32(1e-7)
_EPS = np.float32(1e-6)


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.sqrt(np.einsum("...i,...i->...", v, v))
    return v / np.maximum(norm, _EPS)[..., None], norm


def _one_minus_cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos of the angle between unit vectors, as |a - b|^2 / 2: exact for tiny angles,
    where 1 - (a . b) in float32 would lose everything below ~1e-7."""
    diff = a - b
    return np.einsum("...i,...i->...", diff, diff) * np.float32(0.5)


def _cadence_corr(mag: np.ndarray, rate_hz: float) -> np.ndarray:
    """Largest normalised autocorrelation of the magnitude at walking-step lags."""
    centred = mag - mag.mean(axis=1, keepdims=True)
    energy = np.einsum("ij,ij->i", centred, centred) + _EPS
    best = np.zeros(len(mag), dtype=np.float32)
    length = mag.shape[1]
    shortest, longest = (max(1, round(s * rate_hz)) for s in _CADENCE_RANGE_S)
    for lag in range(shortest, min(longest, length // 2 - 1) + 1):
        corr = np.einsum("ij,ij->i", centred[:, lag:], centred[:, :-lag])
        # scale for the shorter overlap so long lags are not penalised
        np.maximum(best, corr * (length / (length - lag)) / energy, out=best)
    return best


def window_features(windows: np.ndarray, rate_hz: float) -> np.ndarray:
    """Features (n, len(FEATURE_NAMES)) float32 of windows (n, L, 3) in g at ``rate_hz``."""
    w = np.asarray(windows, dtype=np.float32)
    n, length, _ = w.shape
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    # One pass of 0.5 s block means serves the window mean, the two halves and the sway.
    block = max(1, min(round(_SWAY_BLOCK_S * rate_hz), length // 2))
    n_blocks = length // block
    block_sums = w[:, : n_blocks * block].reshape(n, n_blocks, block, 3).sum(axis=2)
    if n_blocks * block == length:
        mean = block_sums.sum(axis=1) / np.float32(length)
    else:
        mean = w.mean(axis=1)
    direction, grav_norm = _unit(mean)
    mag = np.sqrt(np.einsum("ijk,ijk->ij", w, w))
    along = np.einsum("ijk,ik->ij", w, direction)  # component along the mean direction
    vertical = along - along.mean(axis=1, keepdims=True)
    dynamic = w - mean[:, None, :]  # centred explicitly: sitting sway is ~1 mg on 1 g
    dyn_var = np.einsum("ijk,ijk->i", dynamic, dynamic) / np.float32(length)
    vert_var = (vertical * vertical).mean(axis=1)
    step = np.diff(w, axis=1)
    jerk = np.sqrt(np.einsum("ijk,ijk->ij", step, step)).mean(axis=1) * np.float32(rate_hz)
    half = n_blocks // 2
    first, _ = _unit(block_sums[:, :half].sum(axis=1))
    second, _ = _unit(block_sums[:, half:].sum(axis=1))
    half_turn = _one_minus_cos(first, second)
    block_dirs, _ = _unit(block_sums)
    sway = _one_minus_cos(block_dirs, direction[:, None, :]).mean(axis=1)
    columns = [
        direction[:, 0],
        direction[:, 1],
        direction[:, 2],
        np.abs(direction[:, 0]),
        np.abs(direction[:, 1]),
        np.abs(direction[:, 2]),
        grav_norm,
        mag.mean(axis=1),
        mag.std(axis=1),
        mag.max(axis=1) - mag.min(axis=1),
        np.sqrt(dyn_var),
        np.sqrt(vert_var),
        np.sqrt(np.maximum(dyn_var - vert_var, 0)),
        jerk,
        half_turn,
        sway,
        _cadence_corr(mag, rate_hz),
    ]
    features = np.stack(columns, axis=1).astype(np.float32, copy=False)
    logged = feature_indices(tuple(_LOG_FEATURES))
    features[:, logged] = np.log10(np.maximum(features[:, logged], _LOG_FLOOR))
    return features


def feature_indices(names: tuple[str, ...]) -> np.ndarray:
    return np.array([FEATURE_NAMES.index(name) for name in names], dtype=np.intp)


def context_features(features: np.ndarray, radius: int) -> np.ndarray:
    """Mean and standard deviation of each feature over windows i-radius .. i+radius.

    ``features`` are the windows of one contiguous segment in time order; at the segment
    edges the neighbourhood is cut short rather than padded.  Returns (n, 2F) float32.
    """
    n = len(features)
    if radius <= 0 or n == 0:
        return np.zeros((n, 0), dtype=np.float32)
    x = features.astype(np.float64)
    zero = np.zeros((1, x.shape[1]))
    sums = np.concatenate((zero, np.cumsum(x, axis=0)))
    squares = np.concatenate((zero, np.cumsum(x * x, axis=0)))
    idx = np.arange(n)
    lo = np.maximum(idx - radius, 0)
    hi = np.minimum(idx + radius + 1, n)
    count = (hi - lo)[:, None]
    mean = (sums[hi] - sums[lo]) / count
    var = np.maximum((squares[hi] - squares[lo]) / count - mean * mean, 0)
    return np.concatenate((mean, np.sqrt(var)), axis=1).astype(np.float32)


def multi_scale_context(features: np.ndarray, radii: tuple[int, ...]) -> np.ndarray:
    """:func:`context_features` at several radii side by side: a short radius follows
    brief bouts, a long one averages over a whole bout.  The look-ahead is max(radii)."""
    parts = [context_features(features, r) for r in radii]
    return np.hstack(parts) if parts else np.zeros((len(features), 0), dtype=np.float32)


def context_feature_names(names: tuple[str, ...], radius: int) -> tuple[str, ...]:
    if radius <= 0:
        return ()
    return tuple(f"ctx{radius}_mean_{n}" for n in names) + tuple(
        f"ctx{radius}_std_{n}" for n in names
    )
