"""The facts vocabulary: which facts exist, how they are asked, and how answers are normalized.

The data lives in ``vocabulary.yaml`` next to this module (shipped with the package); this module
turns it into ``FACTS`` and checks the answers people give (``validate_facts``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from assistant.errors import CampoError
from assistant.numbers import parse_number as parse_digits
from assistant.text import fold

UNKNOWN = "no_se"  # the answer "No sé", accepted by facts with allow_unknown

FactKind = Literal["choice", "number", "yes_no"]


def slug(text: str) -> str:
    """'Persona Física' -> 'persona_fisica': how typed answers are compared with option values."""
    return re.sub(r"[^a-z0-9ñ]+", "_", fold(text).strip()).strip("_")


def is_unknown(text: str) -> bool:
    return slug(text) in {"no_se", "nose", "no_lo_se", "no_sabe", "desconozco"} or text.strip() == "?"


def yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = slug(value)
        if word in {"si", "s", "true", "1", "claro", "si_claro"}:
            return True
        if word in {"no", "n", "false", "0"}:
            return False
    raise ValueError("responda sí o no")


def parse_number(text: str) -> float | None:
    """The first number in an answer: '3', '2,5', '1,200', '3 hectáreas', 'media hectárea'; or None."""
    if re.search(r"\bmedia\s+hectarea", fold(text)):
        return 0.5
    return parse_digits(text)


def format_number(value: float) -> str:
    if value in (math.inf, -math.inf):
        return "∞"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


@dataclass(frozen=True)
class FactSpec:
    """One fact the engine may ask about. The order of FACTS breaks ties between questions."""

    key: str
    label: str  # short Spanish name, for "Falta saber: edad"
    question: str
    kind: FactKind
    options: tuple[tuple[str, str], ...] = ()  # choice: (value, Spanish label)
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    allow_unknown: bool = False

    def answers(self) -> list[tuple[Any, str]]:
        """Closed answers as (value, label); numbers only have "No sé" when allowed."""
        if self.kind == "choice":
            values: list[tuple[Any, str]] = list(self.options)
        elif self.kind == "yes_no":
            values = [(True, "Sí"), (False, "No")]
        else:
            values = []
        if self.allow_unknown:
            values.append((UNKNOWN, "No sé"))
        return values

    def normalize(self, value: Any) -> Any:
        """The canonical value for ``value`` or ValueError with a short Spanish reason."""
        if isinstance(value, str) and self.allow_unknown and is_unknown(value):
            return UNKNOWN
        if self.kind == "choice":
            return self._choice(value)
        if self.kind == "yes_no":
            return yes_no(value)
        return self._number(value)

    def describe(self, value: Any) -> str:
        """'superficie: 3 ha' — a fact value as users read it."""
        if value == UNKNOWN and not isinstance(value, bool):
            shown = "no sé"
        elif self.kind == "choice":
            shown = dict(self.options).get(value, str(value))
        elif self.kind == "yes_no":
            shown = "sí" if value else "no"
        else:
            shown = f"{format_number(value)} {self.unit}".strip()
        return f"{self.label}: {shown}"

    def _choice(self, value: Any) -> str:
        if isinstance(value, str):
            wanted = slug(value)
            for key, label in self.options:
                if wanted in (key, slug(label)):
                    return key
        allowed = ", ".join(key for key, _ in self.options)
        raise ValueError(f"use uno de estos valores: {allowed}")

    def _number(self, value: Any) -> float | int:
        if isinstance(value, bool):
            raise ValueError("debe ser un número")
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str) and (parsed := parse_number(value)) is not None:
            number = parsed
        else:
            raise ValueError("debe ser un número")
        if not math.isfinite(number):
            raise ValueError("debe ser un número")
        low = self.minimum if self.minimum is not None else -math.inf
        high = self.maximum if self.maximum is not None else math.inf
        if not low <= number <= high:
            raise ValueError(
                f"debe estar entre {format_number(low)} y {format_number(high)} {self.unit}".rstrip()
            )
        if self.integer:
            if number != int(number):
                raise ValueError("debe ser un número entero")
            return int(number)
        return number


@cache
def vocabulary_data() -> dict[str, Any]:
    """The parsed ``vocabulary.yaml`` shipped with this package."""
    text = resources.files(__package__).joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise RuntimeError("assistant/eligibility/vocabulary.yaml must be a mapping")
    return data


def _spec(entry: Mapping[str, Any]) -> FactSpec:
    options = entry.get("options") or {}
    spec = FactSpec(
        key=str(entry["key"]),
        label=str(entry["label"]),
        question=str(entry["question"]),
        kind=entry["kind"],
        options=tuple((str(value), str(label)) for value, label in options.items()),
        unit=str(entry.get("unit", "")),
        minimum=None if entry.get("minimum") is None else float(entry["minimum"]),
        maximum=None if entry.get("maximum") is None else float(entry["maximum"]),
        integer=bool(entry.get("integer", False)),
        allow_unknown=bool(entry.get("allow_unknown", False)),
    )
    if spec.kind not in ("choice", "number", "yes_no"):
        raise RuntimeError(f"vocabulary.yaml: fact {spec.key}: unknown kind {spec.kind!r}")
    if (spec.kind == "choice") != bool(spec.options):
        raise RuntimeError(f"vocabulary.yaml: fact {spec.key}: options go with kind choice, and only there")
    return spec


FACTS: dict[str, FactSpec] = {spec.key: spec for spec in map(_spec, vocabulary_data()["facts"])}
FACT_ORDER: dict[str, int] = {key: i for i, key in enumerate(FACTS)}


class InvalidFacts(CampoError):
    """Facts outside the vocabulary; ``problems`` lists one Spanish reason per bad fact."""

    code = "invalid_facts"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        message = "Hay datos que no puedo usar: " + "; ".join(problems) + "."
        super().__init__(f"invalid eligibility facts ({len(problems)})", user_message=message)


def validate_facts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical facts (FACTS order) or InvalidFacts. ``None`` values count as not given."""
    if not isinstance(raw, Mapping):
        raise InvalidFacts(["los datos deben ser pares «dato: valor»"])
    clean: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        spec = FACTS.get(str(key))
        if spec is None:
            problems.append(f"«{key}» no es un dato que yo conozca")
        elif value is not None:
            try:
                clean[spec.key] = spec.normalize(value)
            except ValueError as exc:
                problems.append(f"{spec.label} ({spec.key}): {exc}")
    if problems:
        raise InvalidFacts(problems)
    return dict(sorted(clean.items(), key=lambda kv: FACT_ORDER[kv[0]]))


def describe_facts(facts: Mapping[str, Any]) -> list[str]:
    return [FACTS[k].describe(v) for k, v in facts.items() if k in FACTS]
