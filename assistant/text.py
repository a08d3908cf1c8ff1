"""Spanish text handling: accent folding, the BM25 analyzer, sentence and list-item splitting."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_SPANISH

from assistant.legal import ARTICLE_HEADING, LIST_MARKER
from assistant.normalize import fold as fold  # the one folding of the code base

# Bump when the analyzer or the unit splitter changes: the next ingestion then rebuilds every document.
ANALYZER_VERSION = 5

_TOKEN = re.compile(r"[a-z0-9ñ]+")
# Words that carry no topic in questions ("¿qué necesito para…?") beyond the stock list.
_EXTRA_STOPWORDS = {
    "que",
    "cual",
    "cuales",
    "como",
    "puedo",
    "pueden",
    "puede",
    "hay",
    "si",
    "mi",
    "mis",
    "tengo",
    "quiero",
    "saber",
    "necesito",
    "hacer",
    "favor",
    "hola",
    "buenas",
    "buenos",
    "dias",
    "tardes",
    "oiga",
    "pues",
    "usted",
    "ustedes",
    "me",
    "le",
    "les",
    "se",
    "q",
    "xq",
    "porque",
    "por",
    "pa",
}
STOPWORDS = frozenset(
    {unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() for w in STOPWORDS_SPANISH}
    | _EXTRA_STOPWORDS
)

_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe; keep one per thread.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("spanish")
    return stemmer


def tokens(text: str) -> list[str]:
    """Folded word tokens, stopwords included (for overlap scoring)."""
    return _TOKEN.findall(fold(text))


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def analyze(text: str) -> list[str]:
    """The BM25 analyzer: fold, tokenize, drop stopwords and 1-char tokens, Spanish Snowball stem."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]


_STOPWORD_DELETIONS = frozenset(w[:i] + w[i + 1 :] for w in STOPWORDS if len(w) >= 3 for i in range(len(w)))


def near_stopword(word: str) -> bool:
    """'asta' (hasta) or 'ay' (hay): a stopword with one letter missing, common in typed questions."""
    return len(word) <= 5 and word in _STOPWORD_DELETIONS


# --- Sentences and list items -------------------------------------------------------------

_ABBREVIATIONS = {
    "art",
    "arts",
    "fr",
    "fracc",
    "núm",
    "num",
    "no",
    "lic",
    "ing",
    "sr",
    "sra",
    "dr",
    "dra",
    "etc",
    "p",
    "ej",
    "pág",
    "pag",
    "cap",
    "inc",
    "av",
    "col",
    "c",
    "mtro",
    "ma",
    "op",
    "cit",
    "vol",
    "aprox",
}
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[¿¡\"'(«A-ZÁÉÍÓÚÑ0-9])")


def is_list_item(line: str) -> bool:
    return bool(LIST_MARKER.match(line.lstrip()))


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences without breaking after common Spanish abbreviations."""
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].rstrip()
        last_word = re.findall(r"(\w+)\W*$", before)
        if last_word and last_word[0].lower() in _ABBREVIATIONS:
            continue
        if re.search(r"(?:^|\s)[IVXLC]{1,6}\.$", before) and len(before) < 12:
            continue  # a fracción marker like "II." at the start
        parts.append(paragraph[start : match.start()].strip())
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def split_units(text: str) -> list[tuple[str, bool]]:
    """Answer units of a chunk: (text, is_list_item). Lines that are list items stay whole."""
    units: list[tuple[str, bool]] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if is_list_item(line) or "|" in line:
            units.append((line, True))
        else:
            units.extend((s, False) for s in _merge_fragments(split_sentences(line)))
    return units


def is_table_header(unit: str) -> bool:
    """'Concepto | Monto máximo | Observaciones': a table's column names (no figure in any cell)."""
    cells = [c.strip() for c in unit.split(" | ")]
    return len(cells) >= 2 and all(cells) and not re.search(r"\d", unit)


def is_heading_unit(unit: str) -> bool:
    """'Artículo 8. Requisitos de la organización.' or a table's header row: a title, not an answer
    by itself (the answerer takes what it introduces)."""
    return (len(unit) < 100 and bool(ARTICLE_HEADING.match(unit))) or is_table_header(unit)


def _merge_fragments(sentences: list[str], min_chars: int = 25) -> list[str]:
    """Glue headings like 'Artículo 8.' or 'Requisitos.' to the sentence that follows them."""
    out: list[str] = []
    carry = ""
    for sentence in sentences:
        sentence = f"{carry} {sentence}".strip() if carry else sentence
        if len(sentence) < min_chars:
            carry = sentence
            continue
        carry = ""
        out.append(sentence)
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """True if the Levenshtein distance of a and b is <= limit (banded, early exit)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        row_min = current[0]
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            row_min = min(row_min, current[j])
        if row_min > limit:
            return False
        previous = current
    return previous[-1] <= limit
