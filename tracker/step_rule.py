"""Windows that are plainly steps are walking, whatever the classifier says (thigh).

The thigh model misses many short walks between sitting bouts: trained on WISDM's long
recordings, it reads a 10-20 s walk's few windows as the sitting around them, and every
training recipe that taught it short walks moved the ends of standing bouts or cost one
person their sitting (see model.LOCATION_SHORT_WALKS).  A walking thigh is unmistakable
in one window, though: it moves, its movement repeats at a step's pace, and it keeps
facing the same way.  Sitting down and standing up also move the thigh and can look
step-like for a window, but they turn it by about 90 degrees between the window's
halves, which is what the third condition excludes.

All three features are the window's own (tracker.features), spreads and angles in log10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# What a window the rule calls walking gets for the other postures: small, not zero, so
# the HMM can still leave walking at the window's edges.
OTHER_POSTURES_PROBABILITY = 1e-6


@dataclass(frozen=True)
class StepRule:
    min_dyn_std_log10: float = -1.0  # movement of at least 0.1 g around the window mean
    min_cadence_corr: float = 0.5  # the magnitude repeats at a lag of 0.3-1.2 s
    max_half_turn_log10: float = -1.0  # halves within about 25 degrees of each other

    def fires(self, x: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        """Which rows of design matrix `x` are steps.  `x` starts with the window's own
        features in `feature_names` order (PostureModel.design_matrix)."""
        names = list(feature_names)

        def column(name: str) -> np.ndarray:
            return x[:, names.index(name)]

        return ((column("dyn_std") > self.min_dyn_std_log10)
                & (column("cadence_corr") > self.min_cadence_corr)
                & (column("half_turn") < self.max_half_turn_log10))

    def apply(self, proba: np.ndarray, x: np.ndarray, feature_names: Sequence[str],
              classes: Sequence[str]) -> np.ndarray:
        """The classifier's posteriors `proba` of design-matrix rows `x`, with the rows the
        rule fires on set to walking."""
        steps = self.fires(x, feature_names)
        if not steps.any():
            return proba
        proba = np.array(proba, dtype=np.float64)
        proba[steps] = OTHER_POSTURES_PROBABILITY
        proba[steps, list(classes).index("walking")] = \
            1.0 - OTHER_POSTURES_PROBABILITY * (len(classes) - 1)
        return proba

    def meta(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> StepRule | None:
        return None if not meta else cls(**{k: float(v) for k, v in meta.items()})
