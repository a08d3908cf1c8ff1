"""Eligibility checks from rules as data: the facts vocabulary, the rules schema, the engine, text helpers.

Rules live in ``corpus/eligibility/<component>.yaml`` (written by admins, see docs/eligibility.md).
Every condition cites the article that states it. The engine never claims more than the rules say:
a condition that cannot be checked from a chat makes a component at best "posiblemente elegible",
and every result carries a disclaimer. Pure Python: no Telegram or HTTP imports.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from assistant.errors import CampoError
from assistant.text import fold

log = logging.getLogger(__name__)

UNKNOWN = "no_se"  # the answer "No sé", accepted by facts with allow_unknown
POSSIBLE_PHRASE = "posiblemente elegible; confirme en la ventanilla"
DISCLAIMER = (
    "Esto es una orientación a partir de las reglas de muestra, no una resolución: la decisión la toma "
    "la instancia que recibe su solicitud en la ventanilla. Las cifras marcadas como ilustrativas no son "
    "oficiales."
)

Status = Literal["elegible", "posiblemente_elegible", "falta_informacion", "no_elegible"]
STATUS_LABELS: dict[str, str] = {
    "elegible": "Elegible",
    "posiblemente_elegible": "Posiblemente elegible; confirme en la ventanilla",
    "falta_informacion": "Falta información",
    "no_elegible": "No elegible",
}

# --- Facts vocabulary -------------------------------------------------------------------------

FactKind = Literal["choice", "number", "yes_no"]


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
        if isinstance(value, str) and self.allow_unknown and _is_unknown(value):
            return UNKNOWN
        if self.kind == "choice":
            return self._choice(value)
        if self.kind == "yes_no":
            return _yes_no(value)
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
            shown = f"{_format_number(value)} {self.unit}".strip()
        return f"{self.label}: {shown}"

    def _choice(self, value: Any) -> str:
        if isinstance(value, str):
            wanted = _slug(value)
            for key, label in self.options:
                if wanted in (key, _slug(label)):
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
                f"debe estar entre {_format_number(low)} y {_format_number(high)} {self.unit}".rstrip()
            )
        if self.integer:
            if number != int(number):
                raise ValueError("debe ser un número entero")
            return int(number)
        return number


def _choice(key: str, label: str, question: str, options: Sequence[tuple[str, str]], **kw: Any) -> FactSpec:
    return FactSpec(key, label, question, "choice", options=tuple(options), **kw)


def _yes(key: str, label: str, question: str, **kw: Any) -> FactSpec:
    return FactSpec(key, label, question, "yes_no", **kw)


def _num(key: str, label: str, question: str, unit: str, low: float, high: float, **kw: Any) -> FactSpec:
    return FactSpec(key, label, question, "number", unit=unit, minimum=low, maximum=high, **kw)


_FACT_LIST: tuple[FactSpec, ...] = (
    _choice(
        "tipo_solicitante",
        "tipo de solicitante",
        "¿Quién solicitaría el apoyo?",
        [
            ("persona_fisica", "Yo, como persona física"),
            ("grupo", "Un grupo de trabajo (sin acta constitutiva)"),
            ("persona_moral", "Una organización constituida (cooperativa, sociedad, empresa)"),
            ("osc", "Una organización de la sociedad civil sin fines de lucro (A.C.)"),
        ],
    ),
    _choice(
        "actividad",
        "actividad",
        "¿Cuál es la actividad principal (suya o del grupo)?",
        [
            ("agricola", "Agrícola (cultivos)"),
            ("pecuaria", "Pecuaria (ganado, aves, abejas)"),
            ("pesquera", "Pesca"),
            ("acuicola", "Acuacultura (cultivo de peces o camarón)"),
            ("forestal", "Forestal"),
            ("agroindustrial", "Agroindustria (transformación)"),
            ("artesanal", "Artesanal"),
            ("servicios", "Servicios o turismo"),
            ("otra", "Otra"),
        ],
    ),
    _num(
        "edad",
        "edad",
        "¿Qué edad tiene? Si es un grupo u organización, escriba la edad del integrante más joven.",
        "años",
        0,
        120,
        integer=True,
    ),
    _yes(
        "es_comunidad_indigena",
        "pertenencia a una comunidad indígena",
        "¿Usted o los integrantes del grupo pertenecen a una comunidad indígena?",
    ),
    _num(
        "numero_integrantes",
        "número de integrantes",
        "¿Cuántas personas integran el grupo u organización?",
        "personas",
        1,
        100_000,
        integer=True,
    ),
    _num(
        "hectareas",
        "superficie",
        "¿Cuántas hectáreas tiene? Si es un grupo, escriba las del integrante con más tierra. "
        "Escriba 0 si no tiene tierra.",
        "ha",
        0,
        100_000,
    ),
    _choice(
        "tipo_superficie",
        "tipo de superficie",
        "¿La tierra es de riego o de temporal?",
        [("riego", "De riego"), ("temporal", "De temporal")],
    ),
    _num(
        "unidades_animal",
        "tamaño del hato",
        "¿Cuántas unidades animal tiene su hato (ganado)? Escriba 0 si no tiene ganado.",
        "unidades animal",
        0,
        1_000_000,
    ),
    _num(
        "anios_actividad",
        "años en la actividad",
        "¿Cuántos años lleva dedicándose a su actividad?",
        "años",
        0,
        100,
    ),
    _choice(
        "recibio_apoyo_previo",
        "apoyo recibido antes",
        "¿Ha recibido antes el mismo apoyo que busca? ¿Cuándo?",
        [
            ("no", "No"),
            ("este_anio", "Sí, este año"),
            ("hace_1_2", "Sí, hace 1 o 2 años"),
            ("hace_3", "Sí, hace 3 años"),
            ("hace_mas", "Sí, hace más de 3 años"),
        ],
    ),
    _yes(
        "convenio_sin_finiquito",
        "convenios sin finiquito",
        "¿Usted o su organización tienen algún convenio de un apoyo anterior sin finiquito, "
        "o algún adeudo con el programa?",
    ),
    _yes(
        "otro_programa_mismo_proyecto",
        "apoyo de otro programa para lo mismo",
        "¿Recibe apoyo de otro programa federal para el mismo proyecto o concepto?",
    ),
    _yes(
        "es_servidor_publico",
        "servidor público",
        "¿Usted es servidor público? Si pregunta por una organización: ¿alguno de sus directivos "
        "o representantes lo es?",
    ),
    _yes(
        "unidad_economica_rnpa",
        "unidad económica inscrita en el RNPA",
        "¿Pertenece a una cooperativa o unidad económica de pesca inscrita en el RNPA "
        "(Registro Nacional de Pesca y Acuacultura)?",
        allow_unknown=True,
    ),
    _yes(
        "tiene_permiso_pesca",
        "permiso de pesca vigente",
        "¿Su cooperativa o el titular con quien trabaja tiene permiso o concesión de pesca vigente?",
        allow_unknown=True,
    ),
    _yes(
        "sancionado_veda",
        "sanción por pescar en veda",
        "¿Lo han sancionado por pescar en veda en los dos últimos años?",
    ),
    _yes(
        "tiene_embarcacion_menor",
        "embarcación menor",
        "¿Pesca con una embarcación menor (lancha ribereña con motor fuera de borda)?",
    ),
    _yes(
        "trabaja_como_jornalero",
        "trabajo como jornalero agrícola",
        "¿Trabaja como jornalero agrícola, es decir, por jornal o salario para otra persona?",
    ),
    _choice(
        "escolaridad",
        "escolaridad",
        "¿Cuál es su último grado de estudios?",
        [
            ("ninguna", "Sin estudios"),
            ("primaria", "Primaria"),
            ("secundaria", "Secundaria"),
            ("preparatoria", "Preparatoria o bachillerato"),
            ("superior", "Licenciatura o más"),
        ],
    ),
    _yes(
        "municipio_cruzada",
        "municipio de la Cruzada contra el Hambre",
        "¿Su municipio es atendido por la Cruzada Nacional contra el Hambre?",
        allow_unknown=True,
    ),
    _num(
        "habitantes_localidad",
        "habitantes de la localidad",
        "¿Cuántos habitantes tiene su localidad, más o menos?",
        "habitantes",
        0,
        30_000_000,
        integer=True,
        allow_unknown=True,
    ),
    _num(
        "metros_traspatio",
        "espacio de traspatio",
        "¿Cuántos metros cuadrados de traspatio (patio o solar) tiene disponibles para producir?",
        "m²",
        0,
        1_000_000,
    ),
    _num(
        "anios_constitucion",
        "antigüedad de la organización",
        "¿Cuántos años tiene la organización de haberse constituido?",
        "años",
        0,
        200,
    ),
    _yes(
        "tiene_cluni",
        "CLUNI vigente",
        "¿La organización tiene CLUNI vigente (Clave Única de Inscripción en el Registro Federal de las OSC)?",
    ),
    _yes(
        "objeto_social_rural",
        "objeto social",
        "¿El objeto social de la organización incluye capacitación, asistencia técnica o desarrollo rural?",
    ),
    _choice(
        "localidad_marginacion",
        "marginación de la localidad",
        "¿Qué grado de marginación tiene su localidad o municipio?",
        [
            ("muy_alta", "Muy alta"),
            ("alta", "Alta"),
            ("media", "Media"),
            ("baja", "Baja o muy baja"),
        ],
        allow_unknown=True,
    ),
)
FACTS: dict[str, FactSpec] = {spec.key: spec for spec in _FACT_LIST}
_FACT_ORDER = {key: i for i, key in enumerate(FACTS)}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9ñ]+", "_", fold(text).strip()).strip("_")


def _is_unknown(text: str) -> bool:
    return _slug(text) in {"no_se", "nose", "no_lo_se", "no_sabe", "desconozco"} or text.strip() == "?"


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = _slug(value)
        if word in {"si", "s", "true", "1", "claro", "si_claro"}:
            return True
        if word in {"no", "n", "false", "0"}:
            return False
    raise ValueError("responda sí o no")


_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+(?:[.,]\d+)?)(?![\d])")


def parse_number(text: str) -> float | None:
    """The first number in ``text``: '3', '2,5', '1,200', '3 hectáreas' -> float; None if there is none."""
    folded = fold(text)
    if re.search(r"\bmedia\s+hectarea", folded):
        return 0.5
    match = _NUMBER.search(folded)
    if match is None:
        return None
    raw = match.group(1)
    raw = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw) else raw.replace(",", ".")
    return float(raw)


_NUMBER_WORDS = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciseis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
]


def _states_number(text: str, value: float) -> bool:
    """Whether ``text`` says ``value`` (as digits, with or without thousands commas, or as a word).
    Catches a rules file whose threshold drifted from the sentence it cites (gte: 50 for '18 años')."""
    folded = fold(text)
    said = {parse_number(m.group(0)) for m in _NUMBER.finditer(folded)}
    if value in said or value == 0:  # "gt: 0" means "has any", not a stated figure
        return True
    if value == 18 and re.search(r"\bmayor(es)? de edad\b", folded):
        return True
    return (
        value.is_integer()
        and 0 <= value < len(_NUMBER_WORDS)
        and (
            re.search(rf"\b{_NUMBER_WORDS[int(value)]}\b", folded) is not None
            or (value == 1 and re.search(r"\bun[oa]?\b", folded) is not None)
        )
    )


def _format_number(value: float) -> str:
    if value in (math.inf, -math.inf):
        return "∞"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


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
    return dict(sorted(clean.items(), key=lambda kv: _FACT_ORDER[kv[0]]))


def describe_facts(facts: Mapping[str, Any]) -> list[str]:
    return [FACTS[k].describe(v) for k, v in facts.items() if k in FACTS]


# --- Rules schema -------------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class Citation(BaseModel):
    """Where a rule is stated: the document id and its article, optionally a verbatim excerpt."""

    model_config = _STRICT
    document_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Corpus document id.")
    section: str = Field(pattern=r"^Artículo \d+$", description="'Artículo N' as written in the document.")
    quote: str | None = Field(
        None, min_length=10, description="Verbatim excerpt of that article (accents and case ignored)."
    )


class Rule(BaseModel):
    """A test on facts: a leaf (``fact`` + operators) or ``all_of`` / ``any_of`` of rules."""

    model_config = _STRICT
    fact: str | None = None
    eq: bool | str | None = None
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None
    all_of: list[Rule] | None = Field(None, min_length=1)
    any_of: list[Rule] | None = Field(None, min_length=1)

    def _may_be_empty(self) -> bool:
        return False

    @model_validator(mode="after")
    def _check_rule(self) -> Rule:
        shapes = [self.fact is not None, self.all_of is not None, self.any_of is not None]
        if sum(shapes) == 0:
            if self._may_be_empty():
                return self
            raise ValueError("falta la regla: indique «fact» con un operador, «all_of» o «any_of»")
        if sum(shapes) > 1:
            raise ValueError("use sólo una de estas formas: «fact», «all_of» o «any_of»")
        if self.fact is None:
            if self._operators():
                raise ValueError("los operadores (eq, in, gte…) van junto a «fact», no junto a all_of/any_of")
            return self
        spec = FACTS.get(self.fact)
        if spec is None:
            raise ValueError(f"dato desconocido «{self.fact}»; los datos válidos son: {', '.join(FACTS)}")
        ops = self._operators()
        if not ops:
            raise ValueError(
                f"la regla sobre «{self.fact}» no tiene operador (eq, in, not_in, gte, gt, lte, lt)"
            )
        numeric = {"gte", "gt", "lte", "lt"}
        if spec.kind == "number":
            if set(ops) - numeric:
                raise ValueError(f"«{self.fact}» es un número: use gte, gt, lte o lt")
        elif spec.kind == "yes_no":
            if set(ops) != {"eq"} or not isinstance(self.eq, bool):
                raise ValueError(f"«{self.fact}» es sí/no: use «eq: true» o «eq: false»")
        else:
            if set(ops) & numeric:
                raise ValueError(f"«{self.fact}» es una opción: use eq, in o not_in")
            allowed = {key for key, _ in spec.options}
            given = ([self.eq] if self.eq is not None else []) + (self.in_ or []) + (self.not_in or [])
            bad = [str(v) for v in given if not isinstance(v, str) or v not in allowed]
            if bad:
                raise ValueError(
                    f"valor no válido para «{self.fact}»: {', '.join(bad)}; use: {', '.join(sorted(allowed))}"
                )
        return self

    def _operators(self) -> list[str]:
        names = ("eq", "in_", "not_in", "gte", "gt", "lte", "lt")
        return [n.rstrip("_") for n in names if getattr(self, n) is not None]

    def facts(self) -> set[str]:
        if self.fact is not None:
            return {self.fact}
        return set().union(*(child.facts() for child in (self.all_of or self.any_of or [])))


class _Cited(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    text: str = Field(min_length=5, description="One line, Spanish, saying what the document says.")
    citation: Citation
    illustrative: bool = False

    @model_validator(mode="after")
    def _check_illustrative(self) -> _Cited:
        _require_illustrative_mark(self.text, self.illustrative, self.citation)
        return self


def _require_illustrative_mark(text: str, illustrative: bool, citation: Citation) -> None:
    if illustrative and "ilustrativ" not in fold(text):
        raise ValueError(
            "con «illustrative: true» el texto debe decir que la cifra o el criterio es ilustrativo"
        )
    if not illustrative and "ilustrativ" in fold(f"{text} {citation.quote or ''}"):
        raise ValueError(
            "el texto o la cita dicen «ilustrativo»: marque «illustrative: true» y dígalo en el texto"
        )


class Condition(Rule):
    """Something the applicant must meet; ``verify_at_ventanilla`` when no chat answer can settle it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    text: str = Field(min_length=5)
    citation: Citation
    illustrative: bool = False
    verify_at_ventanilla: bool = False

    def _may_be_empty(self) -> bool:
        return self.verify_at_ventanilla

    @model_validator(mode="after")
    def _check_condition(self) -> Condition:
        if self.verify_at_ventanilla and (self.fact or self.all_of or self.any_of):
            raise ValueError("una condición con «verify_at_ventanilla: true» no lleva regla sobre datos")
        _require_illustrative_mark(self.text, self.illustrative, self.citation)
        for number in self.thresholds():
            if not _states_number(self.text, number):
                raise ValueError(
                    f"la regla usa el número {_format_number(number)} pero el texto no lo dice; "
                    "revise el número o el texto"
                )
        return self

    def thresholds(self) -> list[float]:
        """Every number this condition compares against (leaf and nested rules)."""
        found: list[float] = []
        stack: list[Rule] = [self]
        while stack:
            rule = stack.pop()
            found += [v for v in (rule.gte, rule.gt, rule.lte, rule.lt) if v is not None]
            stack += rule.all_of or rule.any_of or []
        return found


class Exclusion(_Cited):
    """A situation that rules the applicant out when ``when`` holds."""

    when: Rule


class Priority(_Cited):
    """A preference in selection (never changes the status); shown when ``when`` holds."""

    when: Rule


class RequiredDocument(BaseModel):
    model_config = _STRICT
    text: str = Field(min_length=3)
    citation: Citation


class Applicants(BaseModel):
    """Who may apply: values of ``tipo_solicitante``."""

    model_config = _STRICT
    types: list[str] = Field(min_length=1)
    text: str = Field(min_length=5)
    citation: Citation
    illustrative: bool = False

    @model_validator(mode="after")
    def _check_types(self) -> Applicants:
        allowed = {key for key, _ in FACTS["tipo_solicitante"].options}
        bad = [t for t in self.types if t not in allowed]
        if bad:
            raise ValueError(
                f"tipo de solicitante no válido: {', '.join(bad)}; use: {', '.join(sorted(allowed))}"
            )
        _require_illustrative_mark(self.text, self.illustrative, self.citation)
        return self


class Support(BaseModel):
    model_config = _STRICT
    text: str = Field(min_length=5)
    citation: Citation
    illustrative: bool = False

    @model_validator(mode="after")
    def _check_support(self) -> Support:
        _require_illustrative_mark(self.text, self.illustrative, self.citation)
        return self


class RulesFile(BaseModel):
    """The schema of one ``corpus/eligibility/<component>.yaml``."""

    model_config = _STRICT
    component: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=3)
    program: str = Field(min_length=2)
    fiscal_year: int = Field(ge=1990, le=2100)
    summary: str = Field(min_length=5)
    sources: dict[str, str] = Field(
        min_length=1,
        description="document_id -> short title shown in citations ('Reglas de Operación 2014…').",
    )
    who_may_apply: Applicants
    conditions: list[Condition] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    required_documents: list[RequiredDocument] = Field(default_factory=list)
    support: Support

    @model_validator(mode="after")
    def _check_file(self) -> RulesFile:
        ids = (
            [c.id for c in self.conditions]
            + [e.id for e in self.exclusions]
            + [p.id for p in self.priorities]
        )
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"ids repetidos: {', '.join(dupes)}")
        for where, citation in iter_citations(self):
            if citation.document_id not in self.sources:
                raise ValueError(f"{where}: el documento «{citation.document_id}» no está en «sources»")
        return self


class ComponentRules(RulesFile):
    """A loaded rules file; ``file`` is the name it was read from (for error reports)."""

    _file: str = PrivateAttr(default="")

    @property
    def file(self) -> str:
        return self._file


Rule.model_rebuild()


def iter_citations(rules: RulesFile) -> Iterator[tuple[str, Citation]]:
    """Every citation in a rules file with its field path ('conditions.2.citation')."""
    yield "who_may_apply.citation", rules.who_may_apply.citation
    for name in ("conditions", "exclusions", "priorities", "required_documents"):
        for i, item in enumerate(getattr(rules, name)):
            yield f"{name}.{i}.citation", item.citation
    yield "support.citation", rules.support.citation


# --- Loading and citation checks ----------------------------------------------------------------


@dataclass(frozen=True)
class RuleFileError:
    """A problem in one rules file; ``reason`` is Spanish, for the ingestion report."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '(archivo)'}: {self.reason}"


_PYDANTIC_REASONS = {
    "missing": "falta este campo",
    "extra_forbidden": "campo no permitido (¿error de escritura?)",
    "string_type": "debe ser texto",
    "int_type": "debe ser un número entero",
    "int_parsing": "debe ser un número entero",
    "int_from_float": "debe ser un número entero",
    "float_type": "debe ser un número",
    "float_parsing": "debe ser un número",
    "bool_type": "debe ser true o false",
    "bool_parsing": "debe ser true o false",
    "list_type": "debe ser una lista",
    "dict_type": "debe ser un objeto (pares «clave: valor»)",
    "model_type": "debe ser un objeto (pares «clave: valor»)",
    "model_attributes_type": "debe ser un objeto (pares «clave: valor»)",
    "too_short": "no puede estar vacío o es demasiado corto",
    "string_pattern_mismatch": "formato no válido",
    "greater_than_equal": "el número es demasiado pequeño",
    "less_than_equal": "el número es demasiado grande",
}


def _errors_from_validation(file: str, exc: ValidationError) -> list[RuleFileError]:
    out: list[RuleFileError] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "value_error":
            reason = str(err["msg"]).removeprefix("Value error, ")
        elif kind == "string_pattern_mismatch" and loc.endswith("section"):
            reason = "debe ser «Artículo N», tal como aparece en el documento"
        else:
            reason = _PYDANTIC_REASONS.get(kind, f"valor no válido ({err['msg']})")
        out.append(RuleFileError(file, loc, reason))
    return out


def load_rules_file(path: Path) -> tuple[ComponentRules | None, list[RuleFileError]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, [RuleFileError(name, "", "no se pudo leer el archivo (¿está en UTF-8?)")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (línea {mark.line + 1})" if mark is not None else ""
        return None, [RuleFileError(name, "", f"YAML mal formado{where}")]
    if not isinstance(data, dict):
        return None, [RuleFileError(name, "", "el archivo debe ser un objeto YAML (pares «clave: valor»)")]
    try:
        rules = ComponentRules.model_validate(data)
    except ValidationError as exc:
        return None, _errors_from_validation(name, exc)
    if path.stem != rules.component:
        return None, [RuleFileError(name, "component", f"el archivo debe llamarse «{rules.component}.yaml»")]
    rules._file = name
    return rules, []


def load_rules_dir(path: Path) -> tuple[list[ComponentRules], list[RuleFileError]]:
    """Every valid ``*.yaml`` in ``path``; broken files are reported and left out, the rest load."""
    path = Path(path)
    if not path.is_dir():
        return [], [RuleFileError(str(path), "", "no existe la carpeta de reglas de elegibilidad")]
    loaded: list[ComponentRules] = []
    errors: list[RuleFileError] = []
    seen: dict[str, str] = {}
    for file in sorted([*path.glob("*.yaml"), *path.glob("*.yml")]):
        rules, file_errors = load_rules_file(file)
        errors.extend(file_errors)
        if rules is None:
            continue
        if rules.component in seen:
            errors.append(
                RuleFileError(
                    file.name, "component", f"componente repetido; ya está en {seen[rules.component]}"
                )
            )
            continue
        seen[rules.component] = file.name
        loaded.append(rules)
    return loaded, errors


_SQUASH = re.compile(r"[\s*_|]+")


def _normalized(text: str) -> str:
    return _SQUASH.sub(" ", fold(text)).strip()


def article_text(document: str, section: str) -> str | None:
    """The text of 'Artículo N' (from its heading to the next article), or None if not found."""
    match = re.fullmatch(r"Artículo (\d+)", section)
    if match is None:
        return None
    start = re.search(rf"(?m)^[\W_]*Art[íi]culo\s+{match.group(1)}\s*\.", document)
    if start is None:
        return None
    end = re.compile(r"(?m)^[\W_]*Art[íi]culo\s+\d+\s*\.").search(document, start.end())
    return document[start.start() : end.start() if end else len(document)]


def validate_citations(rules: Sequence[RulesFile], documents: Mapping[str, str]) -> list[RuleFileError]:
    """Check each citation against ``documents`` (document_id -> full text): the document exists,
    the cited 'Artículo N' appears in it and, if given, the quote appears inside that article."""
    errors: list[RuleFileError] = []
    for item in rules:
        file = item.file if isinstance(item, ComponentRules) and item.file else f"{item.component}.yaml"
        for where, citation in iter_citations(item):
            text = documents.get(citation.document_id)
            if text is None:
                errors.append(
                    RuleFileError(file, where, f"el documento «{citation.document_id}» no está en el corpus")
                )
                continue
            if not re.search(re.escape(citation.section) + r"(?!\d)", text):
                errors.append(
                    RuleFileError(
                        file,
                        where,
                        f"«{citation.section}» no aparece en el documento «{citation.document_id}»",
                    )
                )
                continue
            if citation.quote:
                scope = article_text(text, citation.section) or text
                if _normalized(citation.quote) not in _normalized(scope):
                    errors.append(
                        RuleFileError(
                            file,
                            where + ".quote",
                            f"la cita no aparece en el {citation.section} de «{citation.document_id}»",
                        )
                    )
    return errors


def drop_invalid(rules: Sequence[ComponentRules], errors: Sequence[RuleFileError]) -> list[ComponentRules]:
    """The rules whose file has no reported error (e.g. after validate_citations)."""
    bad = {e.file for e in errors}
    return [r for r in rules if r.file not in bad]


def export_rules(rules: Sequence[RulesFile], dest: Path) -> list[Path]:
    """Write each component as ``dest/<component>.yaml`` (e.g. into a new index version)."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for item in rules:
        data = item.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
        data = {"component": item.component, **data}
        path = dest / f"{item.component}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


# --- Results --------------------------------------------------------------------------------------

ReasonKind = Literal["cumple", "no_cumple", "falta", "verificar", "excluido", "prioridad", "resumen"]


class CitationOut(BaseModel):
    document_id: str
    section: str
    label: str = Field(
        description="Short reference for people: 'Reglas de Operación 2014, Cadenas de Valor, Art. 5'."
    )


class Reason(BaseModel):
    kind: ReasonKind
    text: str = Field(description="One line, Spanish.")
    citation: CitationOut
    illustrative: bool = False


class DocumentOut(BaseModel):
    text: str
    citation: CitationOut


class SupportOut(BaseModel):
    text: str
    citation: CitationOut
    illustrative: bool = False


class AnswerOption(BaseModel):
    value: bool | str = Field(description="What to send back as the fact's value.")
    label: str


class Question(BaseModel):
    fact: str
    text: str
    kind: FactKind
    label: str
    options: list[AnswerOption] = Field(
        default_factory=list, description="Closed answers (choice, sí/no, No sé)."
    )
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False


def question_for(key: str) -> Question:
    spec = FACTS[key]
    return Question(
        fact=spec.key,
        text=spec.question,
        kind=spec.kind,
        label=spec.label,
        options=[AnswerOption(value=v, label=lbl) for v, lbl in spec.answers()],
        unit=spec.unit or None,
        minimum=spec.minimum,
        maximum=spec.maximum,
        integer=spec.integer,
    )


class ComponentResult(BaseModel):
    component: str
    name: str
    program: str
    fiscal_year: int
    status: Status
    status_label: str
    summary: Reason = Field(description="The one-line reason to show first.")
    reasons: list[Reason]
    missing_facts: list[str] = Field(default_factory=list)
    required_documents: list[DocumentOut] = Field(
        default_factory=list, description="Only for elegible / posiblemente_elegible."
    )
    support: SupportOut


class EligibilityResult(BaseModel):
    results: list[ComponentResult]
    next_question: Question | None = Field(None, description="The missing fact that decides most components.")
    complete: bool = Field(description="True when no component still needs an answer.")
    facts: dict[str, Any] = Field(default_factory=dict, description="The facts used, normalized.")
    disclaimer: str = DISCLAIMER


# --- Engine ---------------------------------------------------------------------------------------

_PASS, _FAIL, _MISSING, _VERIFY = "pass", "fail", "missing", "verify"


def _compare(rule: Rule, value: Any) -> bool:
    checks = [
        rule.eq is None or value == rule.eq,
        rule.in_ is None or value in rule.in_,
        rule.not_in is None or value not in rule.not_in,
    ]
    if any(op is not None for op in (rule.gte, rule.gt, rule.lte, rule.lt)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        checks += [
            rule.gte is None or value >= rule.gte,
            rule.gt is None or value > rule.gt,
            rule.lte is None or value <= rule.lte,
            rule.lt is None or value < rule.lt,
        ]
    return all(checks)


def eval_rule(rule: Rule, facts: Mapping[str, Any]) -> tuple[str, set[str]]:
    """Four-valued: pass / fail / missing (with the facts to ask) / verify (answered "No sé")."""
    if rule.fact is not None:
        if rule.fact not in facts:
            return _MISSING, {rule.fact}
        value = facts[rule.fact]
        if isinstance(value, str) and value == UNKNOWN:
            return _VERIFY, set()
        return (_PASS if _compare(rule, value) else _FAIL), set()
    children = [eval_rule(child, facts) for child in (rule.all_of or rule.any_of or [])]
    outcomes = {outcome for outcome, _ in children}
    missing: set[str] = set().union(*(m for o, m in children if o == _MISSING))
    decisive, other = (_FAIL, _PASS) if rule.all_of is not None else (_PASS, _FAIL)
    if decisive in outcomes:
        return decisive, set()
    if _MISSING in outcomes:
        return _MISSING, missing
    if _VERIFY in outcomes:
        return _VERIFY, set()
    return other, set()


def _cite(rules: RulesFile, citation: Citation) -> CitationOut:
    number = citation.section.removeprefix("Artículo ").strip()
    title = rules.sources.get(citation.document_id, citation.document_id)
    return CitationOut(
        document_id=citation.document_id, section=citation.section, label=f"{title}, Art. {number}"
    )


def _labels(keys: set[str] | list[str]) -> str:
    return ", ".join(FACTS[k].label for k in sorted(keys, key=_FACT_ORDER.__getitem__))


def evaluate_component(rules: RulesFile, facts: Mapping[str, Any]) -> ComponentResult:
    """One component's status, reasons and missing facts from already validated facts."""
    fails: list[Reason] = []
    passes: list[Reason] = []
    missing_reasons: list[Reason] = []
    verify: list[Reason] = []
    missing: set[str] = set()

    applicants = Condition(
        id="who_may_apply",
        text=rules.who_may_apply.text,
        citation=rules.who_may_apply.citation,
        illustrative=rules.who_may_apply.illustrative,
        fact="tipo_solicitante",
        **{"in": rules.who_may_apply.types},
    )
    for cond in [applicants, *rules.conditions]:
        cite = _cite(rules, cond.citation)
        flag = cond.illustrative
        if cond.verify_at_ventanilla:
            outcome, needed = _VERIFY, set[str]()
        else:
            outcome, needed = eval_rule(cond, facts)
        is_applicant = cond is applicants
        if outcome == _PASS:
            text = f"Puede solicitar: {cond.text}" if is_applicant else f"Cumple: {cond.text}"
            passes.append(Reason(kind="cumple", text=text, citation=cite, illustrative=flag))
        elif outcome == _FAIL:
            text = f"Sólo pueden solicitar: {cond.text}" if is_applicant else f"No cumple: {cond.text}"
            fails.append(Reason(kind="no_cumple", text=text, citation=cite, illustrative=flag))
        elif outcome == _VERIFY:
            text = f"Se confirma en la ventanilla: {cond.text}"
            verify.append(Reason(kind="verificar", text=text, citation=cite, illustrative=flag))
        else:
            missing |= needed
            text = f"Falta saber ({_labels(needed)}): {cond.text}"
            missing_reasons.append(Reason(kind="falta", text=text, citation=cite, illustrative=flag))

    for excl in rules.exclusions:
        cite = _cite(rules, excl.citation)
        outcome, needed = eval_rule(excl.when, facts)
        if outcome == _PASS:
            text = f"Exclusión que aplica: {excl.text}"
            fails.append(Reason(kind="excluido", text=text, citation=cite, illustrative=excl.illustrative))
        elif outcome == _VERIFY:
            text = f"Se confirma en la ventanilla: {excl.text}"
            verify.append(Reason(kind="verificar", text=text, citation=cite, illustrative=excl.illustrative))
        elif outcome == _MISSING:
            missing |= needed
            text = f"Falta saber ({_labels(needed)}): {excl.text}"
            missing_reasons.append(
                Reason(kind="falta", text=text, citation=cite, illustrative=excl.illustrative)
            )

    priorities = [
        Reason(
            kind="prioridad",
            text=f"Prioridad: {p.text}",
            citation=_cite(rules, p.citation),
            illustrative=p.illustrative,
        )
        for p in rules.priorities
        if eval_rule(p.when, facts)[0] == _PASS
    ]

    status: Status
    if fails:
        status, summary, reasons = "no_elegible", fails[0], fails
        missing = set()
    elif missing:
        status, reasons = "falta_informacion", [*missing_reasons, *verify, *passes]
        summary = Reason(
            kind="resumen",
            text=f"Falta saber: {_labels(missing)}.",
            citation=missing_reasons[0].citation,
            illustrative=missing_reasons[0].illustrative,
        )
    elif verify:
        status, reasons = "posiblemente_elegible", [*verify, *passes, *priorities]
        first = verify[0].text.removeprefix("Se confirma en la ventanilla: ")
        summary = verify[0].model_copy(
            update={"kind": "resumen", "text": f"{POSSIBLE_PHRASE[0].upper()}{POSSIBLE_PHRASE[1:]}: {first}"}
        )
    else:
        status, reasons = "elegible", [*passes, *priorities]
        summary = Reason(
            kind="resumen",
            text="Cumple las condiciones que se pueden revisar por chat.",
            citation=passes[0].citation,
        )

    documents = []
    if status in ("elegible", "posiblemente_elegible"):
        documents = [
            DocumentOut(text=d.text, citation=_cite(rules, d.citation)) for d in rules.required_documents
        ]
    return ComponentResult(
        component=rules.component,
        name=rules.name,
        program=rules.program,
        fiscal_year=rules.fiscal_year,
        status=status,
        status_label=STATUS_LABELS[status],
        summary=summary,
        reasons=reasons,
        missing_facts=sorted(missing, key=_FACT_ORDER.__getitem__),
        required_documents=documents,
        support=SupportOut(
            text=rules.support.text,
            citation=_cite(rules, rules.support.citation),
            illustrative=rules.support.illustrative,
        ),
    )


def choose_next_question(results: Sequence[ComponentResult]) -> str | None:
    """The missing fact that appears in the most undecided components (ties: FACTS order)."""
    counts: dict[str, int] = {}
    for result in results:
        if result.status == "falta_informacion":
            for key in result.missing_facts:
                counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda k: (-counts[k], _FACT_ORDER[k]))


def evaluate(rules: Sequence[RulesFile], facts: Mapping[str, Any]) -> EligibilityResult:
    """Validate ``facts`` (InvalidFacts on bad input) and evaluate every component."""
    clean = validate_facts(facts)
    results = [evaluate_component(r, clean) for r in rules]
    key = choose_next_question(results)
    return EligibilityResult(
        results=results,
        next_question=question_for(key) if key else None,
        complete=key is None,
        facts=clean,
    )


# --- Free text: detection and extraction ----------------------------------------------------------

_STRONG = re.compile(
    r"\b(califico|calificamos|calificaria|calificariamos|soy elegible|somos elegibles|seria elegible"
    r"|seriamos elegibles|me toca|nos toca|le toca|tengo derecho|tenemos derecho|me corresponde"
    r"|nos corresponde|cumplo (?:con )?(?:los |el )?requisit|cumplimos (?:con )?(?:los |el )?requisit"
    r"|me aceptan|nos aceptan|aplico para|aplicamos para|puedo aplicar|podemos aplicar|puedo entrar"
    r"|podemos entrar|puedo participar|podemos participar|puedo ser beneficiari|podemos ser beneficiari"
    r"|entro al programa|entramos al programa)"
)
_WEAK = re.compile(
    r"\b(puedo|podemos|podria|podriamos|se puede|me pueden|nos pueden)\s+(?:\w+\s+)?"
    r"(pedir|solicitar|recibir|obtener|acceder|tramitar|meter|dar)\b"
)
_TOPIC = re.compile(
    r"\b(apoyos?|programas?|componentes?|beneficios?|subsidios?|recursos?|dinero|proyectos?|paquetes?"
    r"|propesca|proin|traspatio|cadenas|pae|becate|osc|ceip|piiex|motor|motores)\b"
)
_ACTIVITIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "acuicola",
        re.compile(r"\b(acuicol\w*|acuacult\w*|acuicult\w*|granjas? de (?:peces|tilapia|camaron)|tilapia)"),
    ),
    ("pesquera", re.compile(r"\b(pescador\w*|pesca|pescamos|pesco|pescar|pescando|pesquer\w*)\b")),
    (
        "pecuaria",
        re.compile(
            r"\b(ganader\w*|ganado|vacas?|reses|borregos?|chivos?|cabras?|cerdos?|puercos?|pecuari\w*|apicultor\w*|abejas)\b"
        ),
    ),
    ("forestal", re.compile(r"\b(forestal\w*|bosques?|madera)\b")),
    ("artesanal", re.compile(r"\b(artesan\w*)")),
    (
        "agricola",
        re.compile(
            r"\b(agricultor\w*|agricola\w*|siembro|sembramos|cultivo|cultivos|cultivamos|milpa|maiz|frijol|hortalizas|parcela)\b"
        ),
    ),
)
_YEARS = r"(?:anos|anios|ano)"


def extract_facts(text: str) -> dict[str, Any]:
    """Facts stated in a free-text question ('tengo 3 hectareas', 'soy pescador', 'somos 12'),
    already normalized; accents and case do not matter. Only what is clearly said is returned."""
    t = fold(text)
    found: dict[str, Any] = {}

    ha = re.search(r"(\d+(?:[.,]\d+)?)\s*(?:hectareas?|hectarias?|hect\b|has?\b)", t)
    if ha:
        found["hectareas"] = ha.group(1)
    elif re.search(r"\bmedia\s+hectarea", t):
        found["hectareas"] = 0.5

    for match in re.finditer(rf"(\d{{1,3}}(?:[.,]\d+)?)\s*{_YEARS}\b", t):
        before, after = t[max(0, match.start() - 20) : match.start()], t[match.end() : match.end() + 25]
        if re.search(r"constitu|fundad|antigued", before + after):
            found.setdefault("anios_constitucion", match.group(1))
        elif re.search(r"\b(llevo|llevamos|hace|desde)\b", before) or re.search(
            r"^\s*(de experiencia|pescando|trabajando|sembrando|dedic|en la actividad|en el campo|en la pesca)",
            after,
        ):
            found.setdefault("anios_actividad", match.group(1))
        else:
            found.setdefault("edad", match.group(1))
    age = re.search(r"\bedad\s*(?:de|:|es)?\s*(\d{1,3})\b", t)
    if age and "edad" not in found:
        found["edad"] = age.group(1)

    hits = [(m.start(), name) for name, pattern in _ACTIVITIES if (m := pattern.search(t))]
    if hits:
        found["actividad"] = min(hits)[1]
    if re.search(r"\bjornaler[oa]s?\b", t):
        found["trabaja_como_jornalero"] = not re.search(r"\bno\s+(?:soy|somos)\s+jornaler", t)

    if re.search(r"\bindigenas?\b", t):
        found["es_comunidad_indigena"] = not re.search(
            r"\bno\s+(?:soy|somos|es|son)\s+(?:\w+\s+)?indigena", t
        )

    if re.search(r"\b(osc|asociacion civil|sociedad civil)\b|\ba\.\s?c\.", t):
        found["tipo_solicitante"] = "osc"
    elif re.search(
        r"\b(somos|nuestra|tenemos una)\s+(?:una\s+)?(cooperativa|sociedad|organizacion|empresa)\b|\bpersona moral\b",
        t,
    ):
        found["tipo_solicitante"] = "persona_moral"
    elif re.search(r"\b(grupo|somos \d+|en grupo)\b", t):
        found["tipo_solicitante"] = "grupo"
    elif re.search(r"\bpersona fisica\b", t):
        found["tipo_solicitante"] = "persona_fisica"

    members = re.search(r"\b(?:somos|grupo de|integrad[oa]s? por)\s+(\d{1,5})\b", t) or re.search(
        r"\b(\d{1,5})\s+(?:integrantes|socios|socias|miembros|companeros|productores|personas)\b", t
    )
    if members:
        found["numero_integrantes"] = members.group(1)

    if re.search(r"\bmuy alta marginacion\b", t):
        found["localidad_marginacion"] = "muy_alta"
    elif re.search(r"\balta marginacion\b", t):
        found["localidad_marginacion"] = "alta"
    m2 = re.search(r"(\d+(?:[.,]\d+)?)\s*(?:m2|mts2|metros cuadrados)\b", t)
    if m2:
        found["metros_traspatio"] = m2.group(1)

    clean: dict[str, Any] = {}
    for key, value in found.items():
        try:
            clean[key] = FACTS[key].normalize(value)
        except ValueError:
            continue  # a number out of range in free text is just ignored
    return clean


def looks_like_eligibility_question(text: str) -> bool:
    """'¿puedo pedir apoyo si tengo 3 hectáreas?', 'califico?', 'soy pescador, me toca?' -> True."""
    t = fold(text)
    if _STRONG.search(t):
        return True
    if _WEAK.search(t):
        return bool(_TOPIC.search(t) or extract_facts(text) or re.search(r"\b(si tengo|si soy|siendo)\b", t))
    return False


# --- Service ----------------------------------------------------------------------------------------


class EligibilityService:
    """Loaded rules plus the calls the adapters need (HTTP route, bot flow)."""

    def __init__(self, rules: Path | str | Sequence[ComponentRules]) -> None:
        if isinstance(rules, str | Path):
            self.rules, self.errors = load_rules_dir(Path(rules))
            for error in self.errors:
                log.warning("eligibility rules rejected: %s", error)
        else:
            self.rules, self.errors = list(rules), []
        log.info("eligibility rules loaded: %d components", len(self.rules))

    def questions(self) -> list[Question]:
        """Every fact the loaded rules use, in the fixed FACTS order."""
        used: set[str] = {"tipo_solicitante"}
        for rules in self.rules:
            for condition in rules.conditions:
                used |= condition.facts()
            for exclusion in rules.exclusions:
                used |= exclusion.when.facts()
            for priority in rules.priorities:
                used |= priority.when.facts()
        return [question_for(key) for key in FACTS if key in used]

    def evaluate(self, facts: Mapping[str, Any]) -> EligibilityResult:
        return evaluate(self.rules, facts)

    def quick_check(self, text: str) -> EligibilityResult:
        """Evaluate with the facts found in a free-text question."""
        return evaluate(self.rules, extract_facts(text))
