"""The labels a window can carry, and how they group for sedentary-behaviour research."""

SITTING = "sitting"
STANDING = "standing"
WALKING = "walking"
LYING = "lying"
NONWEAR = "nonwear"
UNKNOWN = "unknown"

ALL_LABELS = (SITTING, STANDING, WALKING, LYING, NONWEAR, UNKNOWN)
# Postures the classifier can put on a worn, recorded window.
POSTURES = (SITTING, STANDING, WALKING, LYING)
# Lying is sedentary too (SBRN definition) but is reported apart from sitting.
SEDENTARY = frozenset({SITTING, LYING})
UPRIGHT = frozenset({STANDING, WALKING})
# Time the band was off, out of reach or not worn: never counted as any posture.
NOT_WORN = frozenset({NONWEAR, UNKNOWN})

# activPAL event codes, so scripts written for activPAL exports can read ours.
ACTIVPAL_CODE = {SITTING: 0, LYING: 0, STANDING: 1, WALKING: 2}
