"""A question analysed once: normalised words, the rules' words added, BM25 terms, vector, intent,
answer type and the program it names. Every later step reads this object; none re-analyses the text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from assistant.lexicon import IntentMatch, Lexicon
from assistant.questions import QuestionMatch
from assistant.text import fold

# What kind of token answers the question, beyond its intent (also for documents without a lexicon,
# e.g. XQuAD): a number, a date, a name.
_ASKS_NUMBER = re.compile(r"\bcuant[oa]s?\b|\bmonto\b|\bporcentaje\b|\bque cantidad\b|\bque edad\b")
_ASKS_DATE = re.compile(r"\bcuando\b|\bque (?:ano|fecha|dia|mes|siglo|decada)\b|\bplazo\b")
_ASKS_NAME = re.compile(r"\bquien(?:es)?\b|\bdonde\b|\bque (?:ciudad|pais|lugar|equipo|empresa)\b")
_INTENT_TYPE = {"amounts": "number", "deadlines": "date"}
# A long message's clauses: split at punctuation and at "pero" ("…el patio es chiquito, pero ai tengo
# mis matitas, alcanza con eso o cuanto espacio piden").
_CLAUSE = re.compile(r"[,.;:?!¿¡…]+|\s+pero\s+")
# Words that ask (after chat spellings are spelled out): the clause with the last of them is the question.
_ASKING = frozenset(
    [
        "que",
        "cuanto",
        "cuanta",
        "cuantos",
        "cuantas",
        "cuando",
        "donde",
        "como",
        "quien",
        "quienes",
        "cual",
        "cuales",
        "puedo",
        "podemos",
        "puede",
        "pueden",
        "hay",
        "toca",
        "entra",
        "entramos",
        "sirve",
        "alcanza",
        "piden",
        "ocupo",
        "ocupamos",
        "tengo",
        "tenemos",
        "debo",
        "debemos",
    ]
)

# "¿qué es el PIIEX?", "q es eso del geit", "que significa UER": the term asked about. Not "pa q son
# los PIIEX" nor "por qué es…": those ask what for and why.
_DEFINITION = re.compile(
    r"\b(?<!pa )(?<!para )(?<!por )(?:que|q|k)\s+(?:es|son|significa|quiere\s+decir|se\s+considera|se\s+entiende\s+por|cuenta\s+como"
    r"|se\s+le\s+llama|le\s+llaman)\s+"
    r"(?:eso\s+(?:del|de\s+la|de\s+los|de\s+las|de)\s+|lo\s+del?\s+|el\s+|la\s+|los\s+|las\s+|un\s+|una\s+)?"
    r"(?P<term>[a-z0-9ñ][a-z0-9ñ ]{1,40}?)\s*(?:\?|$|,|\.|\by\b|\bpara\b|\bpa\b|\ben\b|\bme\b|\bque\b|\bq\b)"
)
# "dice ministracion, q es eso?", "y el rnpa q significa": the term comes first.
_DEFINITION_AFTER = re.compile(
    r"(?P<term>[a-z0-9ñ]{3,})(?:\s*,\s*(?:que|q|k)\s+(?:es|significa|quiere\s+decir)"
    r"|\s+(?:que|q|k)\s+(?:significa|quiere\s+decir))(?:\s+(?:eso|esto))?\s*\?*\s*$"
)
_NOT_A_TERM = {
    "eso",
    "esto",
    "exactamente",
    "lo",
    "que",
    "mejor",
    "necesario",
    "obligatorio",
    "posible",
    "pa",
    "para",
    "por",
    "como",
    "en",
    "de",
    "del",
}
_LIST = re.compile(
    r"\b(requisitos?|documentos?|papeles|papeleria|obligaciones|criterios|causas|conceptos|pasos"
    r"|cuales son|que necesito|que se necesita|que piden|que me piden|que debo (?:presentar|entregar|llevar))\b"
)


@dataclass
class Query:
    text: str  # the question as asked (cleaned)
    search_text: str  # what retrieval embeds and scores: normalised words + the rules' words
    tokens: list[str]  # folded words, chat spellings spelled out
    expansions: list[str] = field(default_factory=list)  # rule words added by the lexicon
    intents: list[IntentMatch] = field(default_factory=list)
    answer_type: str = ""  # 'number', 'date', 'name' or ''
    programs: list[str] = field(default_factory=list)  # components the question names
    focus: str = ""  # a long message's asking clause (``focus_clause``), else ''
    definition_term: str = ""  # for "¿qué es X?": X, folded
    wants_list: bool = False
    vector: np.ndarray | None = None
    terms: list[str] = field(default_factory=list)  # BM25 terms (typos fixed against the vocabulary)
    term_idf: dict[str, float] = field(default_factory=dict)  # each term's idf in the version
    unknown_share: float = 0.0
    near: QuestionMatch = field(default_factory=QuestionMatch)  # anticipated questions near this one

    @property
    def kind(self) -> str:
        return self.intents[0].kind if self.intents else ""

    def kinds(self) -> set[str]:
        """Every intent the question shows (a question may ask for two things)."""
        return {m.kind for m in self.intents}


def focus_clause(text: str, lexicon: Lexicon, min_words: int) -> str:
    """The clause of a long message that asks: producers write the situation first ("buenas tardes,
    le escribo xq mi casa esta en las orillas de la ciudad y el patio es chiquito…, alcanza con eso o
    cuanto espacio piden"), and one embedding of the whole message drifts towards the situation. The
    last clause with an asking word (or the last clause), with the one before it when it is shorter
    than four words; '' for a message under ``min_words`` words or of one clause."""
    if len(text.split()) < min_words:
        return ""
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    if len(clauses) < 2:
        return ""
    asking = [i for i, c in enumerate(clauses) if _ASKING & set(lexicon.normalize(c))]
    i = asking[-1] if asking else len(clauses) - 1
    if len(clauses[i].split()) < 4 and i > 0:
        return f"{clauses[i - 1]} {clauses[i]}"
    return clauses[i]


def analyze_question(text: str, lexicon: Lexicon) -> Query:
    """The lexical part of the analysis (no index, no model): see ``Query``."""
    tokens = lexicon.normalize(text)
    normalized = " ".join(tokens)
    expansions = lexicon.expansions(tokens)
    intents = lexicon.intents(tokens)
    folded = fold(text)
    answer_type = _INTENT_TYPE.get(intents[0].kind, "") if intents else ""
    if not answer_type:
        if _ASKS_NUMBER.search(normalized):
            answer_type = "number"
        elif _ASKS_DATE.search(normalized):
            answer_type = "date"
        elif _ASKS_NAME.search(normalized):
            answer_type = "name"
    term = ""
    match = _DEFINITION.search(re.sub(r"[¿¡\"'()]", " ", folded).replace("?", " ?") + " ?")
    if match:
        term = " ".join(match.group("term").split()[:3])
        if term.split()[0] in _NOT_A_TERM:
            term = ""
    if not term:
        after = _DEFINITION_AFTER.search(re.sub(r"[¿¡\"'()]", " ", folded).strip())
        if after and after.group("term") not in _NOT_A_TERM:
            term = after.group("term")
            match = after
    if match and term and not any(m.kind == "definition" for m in intents):
        intents = [IntentMatch("definition", 2.0), *intents]
    # The question as asked unless chat spellings changed a word, then the spelled-out words; plus the
    # rules' words the lexicon adds.
    base = text if tokens == re.findall(r"[a-z0-9ñ]+", folded) else normalized
    search_text = " ".join([base, *expansions])
    return Query(
        text=text,
        search_text=search_text,
        tokens=tokens,
        expansions=expansions,
        intents=intents,
        answer_type=answer_type,
        programs=lexicon.programs_in(tokens),
        definition_term=term,
        wants_list=bool(_LIST.search(normalized)),
    )
