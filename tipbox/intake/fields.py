"""The tip form: every question, its choices and how an answer is validated.

One definition serves both paths. The template renders these fields (with a
``data-kind`` the browser sealer uses to serialise answers the same way), and
the no-JS path validates the posted form here before sealing it in memory.
Answer keys are the payload's ``answers`` keys (crypto/FORMAT.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from crypto import regions as region_data
from crypto.vocabulary import AgeBand, Category, Danger, HowKnown, Ongoing, worded


def _choices(kind: type[StrEnum], wording: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A question's choices in the vocabulary's order; every code must have its words (checked at import)."""
    return tuple((code.value, label) for code, label in worded(kind, wording, "tipbox/intake/fields.py").items())


CATEGORIES = _choices(
    Category,
    {
        "ANAK-KS": _l("A child is being sexually abused"),
        "ANAK-DARING": _l("A child is exploited online (sexual images, grooming, blackmail)"),
        "ANAK-ESKA": _l("A child is made to provide sex for money"),
        "ANAK-JUAL": _l("A child is being sold or illegally adopted"),
        "ANAK-EKO": _l("A child is made to work or beg"),
        "ANAK-KAWIN": _l("A child is being married off"),
        "ANAK-KEKERASAN": _l("A child is beaten or mistreated"),
        "ANAK-TELANTAR": _l("A child is neglected or abandoned"),
        "TPPO-SEKS": _l("Someone is sold or forced into sex work"),
        "TPPO-KERJA": _l("Someone is forced to work and cannot leave"),
        "TPPO-PMI": _l("Someone is being sent abroad to work through an illegal route"),
        "TPPO-ORGAN": _l("Someone is pressured to sell an organ"),
        "LAIN": _l("Something else, or I am not sure"),
    },
)
DANGER = _choices(
    Danger,
    {
        "danger_now": _l("Someone is in danger right now"),
        "leaving_soon": _l("Someone is about to be taken away or sent abroad"),
        "missing": _l("A child is missing"),
        "injured": _l("Someone is injured or ill and not getting help"),
        "contact_now": _l("A child is being contacted or threatened online right now"),
    },
)
ONGOING = _choices(
    Ongoing,
    {
        "yes": _l("Yes, it is still happening"),
        "no": _l("No, it has stopped"),
        "unknown": _l("I do not know"),
    },
)
AGE_BANDS = _choices(
    AgeBand,
    {
        "0-5": _l("Under 6 years"),
        "6-12": _l("6 to 12 years"),
        "13-17": _l("13 to 17 years"),
        "adult": _l("Adult (18 or older)"),
        "mixed": _l("Children and adults"),
        "unknown": _l("I do not know"),
    },
)
HOW_KNOWN = _choices(
    HowKnown,
    {
        "saw": _l("I saw it myself"),
        "told": _l("Someone told me"),
        "victim": _l("It happened to me"),
        "nearby": _l("I live or work nearby"),
        "online": _l("I saw it online"),
        "other": _l("Another way"),
    },
)

MAX_VICTIMS = 100_000
MAX_LIST_ITEMS = 50


class FieldError(ValueError):
    """One answer is invalid; ``field`` names it, ``message`` is translated."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | textarea | choice | multi | int | lines | bool | province | regency
    choices: tuple[tuple[str, Any], ...] = ()
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("danger", "multi", DANGER),
    Field("category", "choice", CATEGORIES),
    Field("description", "textarea", required=True),
    Field("province", "province"),
    Field("regency", "regency"),
    Field("place", "text"),
    Field("when", "text"),
    Field("ongoing", "choice", ONGOING),
    Field("victims_count", "int"),
    Field("victims_age_band", "choice", AGE_BANDS),
    Field("victims_nationality", "text"),
    Field("responsible", "textarea"),
    Field("online_places", "lines"),
    Field("how_known", "choice", HOW_KNOWN),
    Field("contact", "text"),
    Field("contact_consent", "bool"),
)
FIELD_NAMES = frozenset(f.name for f in FIELDS)


def _text(field: Field, raw: str, max_chars: int) -> str | None:
    value = raw.replace("\r\n", "\n").strip()
    if len(value) > max_chars:
        raise FieldError(field.name, _l("This answer is too long."))
    return value or None


_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def whole_number(field: Field, raw: str, maximum: int) -> int | None:
    """The one parser for a numeric form answer: ASCII digits only, 0 … ``maximum``.

    ``str.isdigit()`` also accepts "²" (which ``int()`` then refuses) and
    ``int()`` reads "١٢" or "１２" as 12. A browser's ``<input type="number">``
    always posts ASCII digits, so anything else was typed into a hand-made
    request or an old browser: it is refused with the same message rather
    than guessed at (reading "²" as 2 would put a wrong count in a report).
    """
    value = raw.strip()
    if value == "":
        return None
    if not _WHOLE_NUMBER.fullmatch(value) or int(value) > maximum:
        raise FieldError(field.name, _l("Please enter a whole number."))
    return int(value)


def _one(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _many(form: Any, name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [v for v in form.getlist(name) if isinstance(v, str)]
    value = form.get(name)
    return value if isinstance(value, list) else []


def parse_answers(form: Any, max_chars: int) -> dict[str, Any]:
    """Validate a posted form (werkzeug MultiDict or plain mapping) into answers.

    Raises :class:`FieldError` for the first invalid answer. Unknown fields
    are ignored, so an old page posting to a new server still works.
    """
    regions = region_data.load()
    answers: dict[str, Any] = {}
    for field in FIELDS:
        raw = _one(form, field.name)
        if field.kind in ("text", "textarea"):
            answers[field.name] = _text(field, raw, max_chars)
        elif field.kind == "choice":
            if raw and raw not in dict(field.choices):
                raise FieldError(field.name, _l("Please choose one of the options."))
            answers[field.name] = raw or None
        elif field.kind == "multi":
            picked = _many(form, field.name)
            allowed = dict(field.choices)
            if any(p not in allowed for p in picked):
                raise FieldError(field.name, _l("Please choose one of the options."))
            answers[field.name] = [code for code, _ in field.choices if code in picked]
        elif field.kind == "int":
            answers[field.name] = whole_number(field, raw, MAX_VICTIMS)
        elif field.kind == "lines":
            text = _text(field, raw, max_chars) or ""
            lines = [line.strip() for line in text.split("\n") if line.strip()]
            if len(lines) > MAX_LIST_ITEMS:
                raise FieldError(field.name, _l("Please list at most 50 items."))
            answers[field.name] = lines
        elif field.kind == "bool":
            answers[field.name] = raw in ("1", "on", "yes", "true")
        elif field.kind == "province":
            if raw and regions.province(raw) is None:
                raise FieldError(field.name, _l("Unknown province code."))
            answers[field.name] = raw or None
        elif field.kind == "regency":
            regency = regions.regency(raw) if raw else None
            if raw and regency is None:
                raise FieldError(field.name, _l("Unknown regency or city code."))
            if regency and answers.get("province") not in (None, regency.province_code):
                raise FieldError(field.name, _l("This regency or city is not in the chosen province."))
            if regency and answers.get("province") is None:
                answers["province"] = regency.province_code
            answers[field.name] = raw or None
        if field.required and not answers.get(field.name):
            raise FieldError(field.name, _l("Please describe what happened."))
    return answers


def choice_label(choices: Sequence[tuple[str, Any]], code: str) -> Any:
    return dict(choices).get(code, code)
