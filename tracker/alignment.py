"""Re-wearing a band turns it: walking shows by how much.

While walking, a band at the waist points the same way relative to the body whatever the
person does, so the mean gravity direction of a stretch's walking windows is the band's
"upright" in that stretch.  Comparing it with the upright of the calibration minute gives
the turn between the two placements, and turning the stretch's gravity features back by
it lets a calibration made with the band worn one way be applied when it is worn another.

One direction fixes two of the three angles of a turn: a turn about the upright itself
(the band slid round the belt) stays unseen.  The smallest turn that maps one upright onto
the other is used; past :data:`MAX_TURN_DEG` the band sits too differently for that guess,
and the caller falls back to the shipped model.  Pure numpy functions.
"""

from __future__ import annotations

import numpy as np

from tracker.features import feature_indices

# Walking windows a stretch needs before its upright is trusted: half a minute.
MIN_WALKING_WINDOWS = 6
# Beyond this the unseen part of the turn is likely large too (the band upside down or
# on its side): better the shipped model than a calibration turned by a guess.
MAX_TURN_DEG = 60.0

GRAVITY = feature_indices(("grav_x", "grav_y", "grav_z"))
GRAVITY_ABS = feature_indices(("grav_abs_x", "grav_abs_y", "grav_abs_z"))


def upright(features: np.ndarray, walking: np.ndarray) -> np.ndarray | None:
    """Unit mean gravity direction of the ``walking`` windows (rows of base features);
    None with fewer than MIN_WALKING_WINDOWS of them."""
    if int(np.count_nonzero(walking)) < MIN_WALKING_WINDOWS:
        return None
    mean = np.asarray(features, dtype=np.float64)[walking][:, GRAVITY].mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def turn_between(start: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """The smallest rotation (3 x 3) taking unit vector ``start`` onto ``end``; None when
    they are more than MAX_TURN_DEG apart."""
    cos = float(np.clip(start @ end, -1.0, 1.0))
    if np.degrees(np.arccos(cos)) > MAX_TURN_DEG:
        return None
    axis = np.cross(start, end)
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]],
                      [-axis[1], axis[0], 0.0]])
    # Rodrigues' formula with sin and 1 - cos folded in (well defined as cos > -1).
    return np.eye(3) + cross + cross @ cross / (1.0 + cos)


def turned(features: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Base features (n, len(FEATURE_NAMES)) with the gravity direction turned by
    ``rotation``; the motion features do not depend on how the band is turned."""
    out = np.array(features, dtype=np.float64)
    gravity = out[:, GRAVITY] @ rotation.T
    out[:, GRAVITY] = gravity
    out[:, GRAVITY_ABS] = np.abs(gravity)
    return out
