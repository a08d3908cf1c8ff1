"""The domain lexicon: producers' Spanish → the rules' Spanish, as data (``corpus/lexicon.yaml``).

Validated at ingestion and stored with each index version (``lexicon.yaml`` in the version folder), so
admins edit it like a document and a rollback takes it back with the documents. A version without one
(evaluations, tests built from records) gets the empty lexicon: no expansion, no intents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.text import fold

LEXICON_FILE = "lexicon.yaml"
KINDS = (
    "amounts",
    "requirements",
    "deadlines",
    "eligibility",
    "definition",
    "procedure",
    "exclusions",
    "obligations",
    "cancellation",
    "selection",
    "complaints",
)
_MAX_ENTRIES = 5000
_MAX_PHRASE = 60
_WORDS = re.compile(r"[a-z0-9ñ]+")


class LexiconError(ValueError):
    """A lexicon file that can't be used; ``errors`` are Spanish, one per bad field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def words(text: str) -> tuple[str, ...]:
    """Folded word tuple used for every phrase comparison ('¿Qué es?' → ('que', 'es'))."""
    return tuple(_WORDS.findall(fold(text)))


@dataclass(frozen=True)
class IntentMatch:
    kind: str
    score: float


@dataclass
class Lexicon:
    spellings: dict[str, str] = field(default_factory=dict)
    synonyms: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    question_cues: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    heading_cues: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    programs: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    # Programs these rules do not cover ('Sembrando Vida', 'Liconsa'): name → the phrases that name it
    elsewhere: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    source_text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.spellings or self.synonyms or self.question_cues or self.programs or self.elsewhere)

    def vocabulary(self) -> set[str]:
        """Every word the lexicon names (a producer's word it knows is not a misspelling)."""
        found = set(self.spellings) | {w for v in self.spellings.values() for w in v.split()}
        for phrase, targets in self.synonyms.items():
            found.update(phrase)
            found.update(w for t in targets for w in t.split())
        for table in (self.question_cues, self.heading_cues, self.programs, self.elsewhere):
            found.update(w for phrases in table.values() for phrase in phrases for w in phrase)
        return found

    # --- query side ---------------------------------------------------------------------------
    def normalize(self, text: str) -> list[str]:
        """Folded words with chat spellings spelled out: 'q papeles pa pesca' → que papeles para pesca."""
        out: list[str] = []
        for word in words(text):
            out.extend(self.spellings.get(word, word).split())
        return out

    def expansions(self, tokens: list[str]) -> list[str]:
        """Rule words for the producer words and phrases found in ``tokens`` (in order, no repeats)."""
        added: list[str] = []
        for phrase, targets in self.synonyms.items():
            if _contains(tokens, phrase):
                added.extend(t for t in targets if t not in added and t not in tokens)
        return added

    def intents(self, tokens: list[str]) -> list[IntentMatch]:
        """What the question asks for, strongest first (longer cue phrases weigh more)."""
        found = []
        for kind, cues in self.question_cues.items():
            score = sum(len(c) for c in cues if _contains(tokens, c))
            if score:
                found.append(IntentMatch(kind, float(score)))
        return sorted(found, key=lambda m: (-m.score, KINDS.index(m.kind)))

    def programs_in(self, tokens: list[str]) -> list[str]:
        """Components the question names ('lo de traspatio', 'soy pescador')."""
        return [
            component
            for component, names in self.programs.items()
            if any(_contains(tokens, n) for n in names)
        ]

    def elsewhere_in(self, tokens: list[str], covered: frozenset[tuple[str, ...]] = frozenset()) -> list[str]:
        """Names of the programs outside the rules that the question names ('cuanto paga
        sembrando vida' → ['Sembrando Vida']); a phrase in ``covered`` (one the documents use) never counts."""
        return [
            name
            for name, phrases in self.elsewhere.items()
            if any(p not in covered and _contains(tokens, p) for p in phrases)
        ]

    # --- document side ------------------------------------------------------------------------
    def heading_kinds(self, heading: str) -> set[str]:
        """Kinds of article a title announces: 'Conceptos y montos de apoyo' → {'amounts'}."""
        tokens = list(words(heading))
        return {kind for kind, cues in self.heading_cues.items() if any(_contains(tokens, c) for c in cues)}


def _contains(tokens: list[str] | tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    if n == 1:
        return phrase[0] in tokens
    first = phrase[0]
    return any(tokens[i] == first and tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1))


def parse_lexicon(text: str) -> Lexicon:
    """Parse and validate a lexicon file's text; raises LexiconError with every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LexiconError([f"no es YAML válido: {str(exc).splitlines()[0]}"]) from exc
    if not isinstance(data, dict):
        raise LexiconError(
            ["el archivo debe ser un mapa con spellings, synonyms, intents, programs y elsewhere"]
        )
    errors: list[str] = []
    unknown = set(data) - {"version", "spellings", "synonyms", "intents", "programs", "elsewhere"}
    if unknown:
        errors.append(f"secciones desconocidas: {', '.join(sorted(map(str, unknown)))}")
    lexicon = Lexicon(source_text=text)
    for key, value in _mapping(data, "spellings", errors).items():
        phrase, target = words(str(key)), words(str(value))
        if len(phrase) != 1 or not target:
            errors.append(f"spellings.{key}: debe ser una palabra → una o más palabras")
            continue
        lexicon.spellings[phrase[0]] = " ".join(target)
    for key, value in _mapping(data, "synonyms", errors).items():
        targets = _phrases(value, f"synonyms.{key}", errors)
        phrase = words(str(key))
        if phrase and targets:
            lexicon.synonyms[phrase] = [w for t in targets for w in t]
        elif not phrase:
            errors.append(f"synonyms.{key}: frase vacía")
    for kind, spec in _mapping(data, "intents", errors).items():
        if kind not in KINDS:
            errors.append(f"intents.{kind}: tipo desconocido (use uno de: {', '.join(KINDS)})")
            continue
        if not isinstance(spec, dict) or set(spec) - {"question", "heading"}:
            errors.append(f"intents.{kind}: debe tener sólo 'question' y 'heading'")
            continue
        lexicon.question_cues[kind] = _phrases(spec.get("question") or [], f"intents.{kind}.question", errors)
        lexicon.heading_cues[kind] = _phrases(spec.get("heading") or [], f"intents.{kind}.heading", errors)
    for component, names in _mapping(data, "programs", errors).items():
        lexicon.programs[str(component)] = _phrases(names, f"programs.{component}", errors)
    for name, phrases in _mapping(data, "elsewhere", errors).items():
        lexicon.elsewhere[str(name)] = _phrases(phrases, f"elsewhere.{name}", errors)
    entries = len(lexicon.spellings) + len(lexicon.synonyms) + sum(map(len, lexicon.question_cues.values()))
    if entries > _MAX_ENTRIES:
        errors.append(f"demasiadas entradas ({entries}; máximo {_MAX_ENTRIES})")
    if errors:
        raise LexiconError(errors)
    return lexicon


def _mapping(data: dict[str, Any], key: str, errors: list[str]) -> dict[Any, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        errors.append(f"{key}: debe ser un mapa")
        return {}
    return value


def _phrases(value: Any, where: str, errors: list[str]) -> list[tuple[str, ...]]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        errors.append(f"{where}: debe ser una lista de frases")
        return []
    out = []
    for item in value:
        if not isinstance(item, str | int) or not str(item).strip() or len(str(item)) > _MAX_PHRASE:
            errors.append(
                f"{where}: frase inválida {str(item)[:40]!r} (texto de 1 a {_MAX_PHRASE} caracteres)"
            )
            continue
        phrase = words(str(item))
        if phrase:
            out.append(phrase)
    return out


def load_lexicon(path: Path) -> Lexicon:
    """The lexicon stored at ``path``; the empty lexicon when there is no file."""
    if not path.is_file():
        return Lexicon()
    return parse_lexicon(path.read_text("utf-8"))
