"""Free text: is a message an eligibility question, and which facts does it state?

The activity words and the names people use for supports come from ``vocabulary.yaml``; the rules
files add the names of the loaded components (``EligibilityService.looks_like_question``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from assistant.eligibility.vocabulary import FACTS, vocabulary_data
from assistant.text import fold

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
# "¿cuánto nos toca poner?", "cuanto me toca de apoyo": an amount, not whether one qualifies.
_HOW_MUCH = re.compile(r"\bcuant[oa]s?\s+(?:\w+\s+)?(?:me|nos|le|les)\s+(?:toca|corresponde)\w*")
_YEARS = r"(?:anos|anios|ano)"


@cache
def _activities() -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = vocabulary_data()["free_text"]["activities"]
    allowed = {value for value, _ in FACTS["actividad"].options}
    unknown = set(patterns) - allowed
    if unknown:
        raise RuntimeError(f"vocabulary.yaml: free_text.activities: unknown activities {sorted(unknown)}")
    return tuple((name, re.compile(pattern)) for name, pattern in patterns.items())


def topic_pattern(extra_words: Iterable[str] = ()) -> re.Pattern[str]:
    """The words that make "¿puedo pedir …?" a question about a support, plus ``extra_words``."""
    words = {fold(str(w)) for w in vocabulary_data()["free_text"]["topic_words"]}
    words |= {fold(w) for w in extra_words if len(w) >= 3}
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


_TOPIC = topic_pattern()


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

    hits = [(m.start(), name) for name, pattern in _activities() if (m := pattern.search(t))]
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


def looks_like_eligibility_question(text: str, topics: re.Pattern[str] | None = None) -> bool:
    """'¿puedo pedir apoyo si tengo 3 hectáreas?', 'califico?', 'soy pescador, me toca?' -> True.
    ``topics``: the support names to recognize (default: those in vocabulary.yaml)."""
    t = _HOW_MUCH.sub(" ", fold(text))
    if _STRONG.search(t):
        return True
    if _WEAK.search(t):
        topic = (topics or _TOPIC).search(t)
        return bool(topic or extract_facts(text) or re.search(r"\b(si tengo|si soy|siendo)\b", t))
    return False
