"""Break suggestions: what to do instead of sitting on, written for the psoas.

The psoas runs from the lumbar spine through the pelvis to the thigh bone and is held
short while we sit. Kept short for hours, day after day, it tightens, which is linked
with low-back and knee pain, an anterior pelvic tilt and pelvic complaints. The
suggestions below lengthen it, take load off it, or make sitting kinder to it.

Each suggestion has a trigger (when it is the one to show), short instructions, a
duration and, where the sensor can tell, how it is verified. This is general
information, not medical advice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DISCLAIMER = ("These suggestions are general information about movement and posture, not "
              "medical advice. If you have pain or a health condition, ask a health "
              "professional what suits you.")


@dataclass(frozen=True)
class DayContext:
    """What the coach knows when it picks a suggestion."""

    streak_min: float  # current sitting streak
    sitting_today_min: float
    local_hour: float  # 0-24
    lying_rest_done_today: bool
    location: str  # thigh, waist, wrist


@dataclass(frozen=True)
class Suggestion:
    key: str
    title: str
    instructions: str
    duration_min: float
    verified_by: str  # what the sensor must see, or "" when it cannot tell
    applies: Callable[[DayContext], bool]


SUGGESTIONS: tuple[Suggestion, ...] = (
    Suggestion(
        key="stand-and-move",
        title="Stand up and move for a few minutes",
        instructions="Get up, walk to fetch water or take the stairs, and let your hips "
        "straighten fully. Public-health guidance is to break up sitting every 30 to 60 "
        "minutes.",
        duration_min=3,
        verified_by="a standing or walking bout of at least the break length",
        applies=lambda c: c.streak_min >= 30,
    ),
    Suggestion(
        key="constructive-rest",
        title="Constructive rest position",
        instructions="Lie on your back with knees bent and feet flat on the floor, parallel "
        "and hip-width apart, heels a little away from your buttocks. Let the spine rest "
        "without pressing it into the floor and without tucking the pelvis; rest your arms "
        "over your belly. Stay 10 to 20 minutes and let the hip flexors release.",
        duration_min=15,
        verified_by="a lying bout of 10 minutes or more (thigh or waist sensor)",
        applies=lambda c: not c.lying_rest_done_today and c.sitting_today_min >= 180
        and (c.local_hour >= 12 or c.local_hour < 6),
    ),
    Suggestion(
        key="psoas-wall-stretch",
        title="Resisted psoas stretch at a wall",
        instructions="Lie on your back with your hips close to a wall and one leg straight "
        "up the wall. Bring the other knee towards your chest while your hands push "
        "against it, resisting the movement. Hold a few breaths, then switch legs.",
        duration_min=5,
        verified_by="",
        applies=lambda c: c.sitting_today_min >= 120,
    ),
    Suggestion(
        key="sit-well",
        title="Set up your seat",
        instructions="When you must sit: spine upright, hips a little higher than your "
        "knees (a cushion under the buttocks helps), and a chair that supports your back.",
        duration_min=1,
        verified_by="",
        applies=lambda c: c.streak_min < 30 and c.sitting_today_min < 120,
    ),
    Suggestion(
        key="release-stress",
        title="Let the day's stress go",
        instructions="A walk outside (in nature if you can), a warm bath, meditation, yoga, "
        "exercise or time with people: stress keeps the psoas braced too.",
        duration_min=20,
        verified_by="a walking bout (for a walk)",
        applies=lambda c: c.local_hour >= 16,
    ),
    Suggestion(
        key="yoga-massage",
        title="Yoga, massage or assisted stretching",
        instructions="Hip-opening yoga poses such as a low lunge, a massage, or stretching "
        "with a partner or therapist help a tight psoas lengthen again.",
        duration_min=15,
        verified_by="",
        applies=lambda c: c.sitting_today_min >= 240,
    ),
)


def next_suggestion(context: DayContext) -> Suggestion:
    """The first suggestion whose trigger fits; standing up is the fallback."""
    for suggestion in SUGGESTIONS:
        if suggestion.applies(context):
            return suggestion
    return SUGGESTIONS[0]
