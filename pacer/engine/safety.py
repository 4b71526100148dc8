"""Red flags (docs/pacing-rules.md section 7): their two tiers, plain words and advice.

The advice leads with what to do, for the highest tier reported, because a
frightened person reading a phone at night must know it from the first line:
the emergency tier (possible cauda equina syndrome, a fracture or another
emergency) says call the emergency number or go to the emergency department now;
the urgent tier says get seen the same day. Then it names what the person
reported, then says that pacer cannot diagnose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["emergency", "urgent"]


@dataclass(frozen=True, slots=True)
class Flag:
    name: str  # the wire name
    tier: Tier
    words: str  # what the person reported, in plain words ("you reported ...")
    question: str  # how a check-in asks about it


FLAGS: tuple[Flag, ...] = (
    # Emergency: call the emergency number or go to the emergency department now.
    Flag("saddle_numbness", "emergency",
         "numbness or tingling around your genitals or buttocks",
         "Numbness or tingling around your genitals, buttocks or inner thighs?"),
    Flag("bladder_bowel_change", "emergency",
         "a change in your bladder or bowel control",
         "New trouble passing urine, or loss of bladder or bowel control?"),
    Flag("both_legs", "emergency",
         "pain, tingling, weakness or numbness in both legs",
         "Pain, tingling, weakness or numbness in both legs?"),
    Flag("progressive_leg_weakness", "emergency",
         "leg weakness that is getting worse",
         "Weakness in a leg that is getting worse?"),
    Flag("sexual_function_change", "emergency",
         "a new change in sexual function",
         "A new change in sexual function (such as no feeling)?"),
    Flag("significant_trauma", "emergency",
         "back pain that started after a serious accident or fall",
         "Did the pain start after a serious accident or fall?"),
    Flag("chest_pain", "emergency",
         "chest pain",
         "Chest pain?"),
    # Urgent: the same day, an urgent GP appointment or the non-emergency line.
    Flag("fever_or_unwell", "urgent",
         "a fever or feeling generally unwell",
         "A fever, or feeling generally unwell?"),
    Flag("unexplained_weight_loss", "urgent",
         "weight loss you cannot explain",
         "Losing weight without trying?"),
    Flag("severe_night_pain", "urgent",
         "pain that does not ease with rest or is much worse at night",
         "Pain that does not ease with rest, or is much worse at night, "
         "and is new or different?"),
    Flag("back_shape_change", "urgent",
         "a lump, swelling or change in the shape of your back",
         "A lump, swelling or change in the shape of your back?"),
    Flag("cough_strain_pain", "urgent",
         "pain made worse by sneezing, coughing or straining",
         "Pain made worse by sneezing, coughing or straining (such as on the toilet)?"),
    Flag("upper_back_pain", "urgent",
         "pain coming from between your shoulder blades",
         "Pain coming from between your shoulder blades rather than your lower back?"),
    Flag("history_of_cancer", "urgent",
         "new back pain after having had cancer",
         "Have you had cancer in the past?"),
)

BY_NAME: dict[str, Flag] = {f.name: f for f in FLAGS}
RED_FLAGS: tuple[str, ...] = tuple(BY_NAME)
TIERS: tuple[Tier, ...] = ("emergency", "urgent")


def tier_of(flags: tuple[str, ...] | list[str]) -> Tier:
    """The highest tier among ``flags`` (a flag not known here counts as emergency:
    when in doubt, the stronger advice)."""
    if any(BY_NAME.get(f) is None or BY_NAME[f].tier == "emergency" for f in flags):
        return "emergency"
    return "urgent"


def words(flag: str) -> str:
    known = BY_NAME.get(flag)
    return known.words if known is not None else flag.replace("_", " ")


def said(flags: tuple[str, ...] | list[str]) -> str:
    """``a, b and c`` in plain words."""
    parts = [words(f) for f in flags]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def first_line(tier: Tier, emergency_number: str, urgent_service: str) -> str:
    """The action, before anything else."""
    if tier == "emergency":
        return (f"Call {emergency_number} or go to the emergency department now. "
                "Do not wait for a GP or physiotherapist appointment.")
    return f"Get medical advice today: contact {urgent_service}."
