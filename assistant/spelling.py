"""Producers' phonetic spellings ('ventaniyas', 'rekisitos', 'abitantes', 'tienpo') → the rules' word.

Mexican Spanish spells by ear: ll/y, c/s/z, b/v, a silent h, qu/k, g/j before e and i, n/m before p
and b, doubled letters (but not the trilled rr: 'perro' is not 'pero'). A word of the question that
the version's documents never use is replaced by the document word that sounds the same (the most
frequent one when several do), so the embedding model
reads the word the rules use, as BM25 already does with its own typo correction. A word the documents
or the lexicon know is never touched, nor a word shorter than four letters, nor a real word that merely
sounds like a rule word ('sierra' / 'cierra'): across the documents and the anticipated questions, the
rule word must be at least ``PREFERENCE`` times as frequent as the word typed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from assistant.text import fold
from assistant.versions import IndexVersion

MIN_LETTERS = 4
PREFERENCE = 10  # not calibrated: a homophone typed by ear is corrected only to a much commoner word
_WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+")
_RULES = (
    (re.compile(r"ch"), "1"),  # kept apart from c and h
    (re.compile(r"rr|^r|(?<=[nls])r"), "3"),  # the trilled r: 'perro' is not 'pero', nor 'cerro' 'cero'
    (re.compile(r"gu(?=[ei])"), "2"),  # 'guerra': a hard g
    (re.compile(r"g(?=[ei])"), "j"),
    (re.compile(r"2"), "g"),
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"[cq]"), "k"),
    (re.compile(r"z"), "s"),
    (re.compile(r"ll"), "y"),
    (re.compile(r"[vw]"), "b"),
    (re.compile(r"h"), ""),
    (re.compile(r"(?<=[^aeiou])y(?=[aeiou])"), "i"),  # 'folyo' / 'folio'
    (re.compile(r"n(?=[pb])"), "m"),
    (re.compile(r"(.)\1+"), r"\1"),
    (re.compile(r"1"), "ch"),
    (re.compile(r"3"), "rr"),
)


def sound_key(word: str) -> str:
    """How a folded word sounds in Mexican Spanish: 'ventanillas' and 'ventaniyas' → 'bentaniyas'."""
    key = fold(word)
    for pattern, replacement in _RULES:
        key = pattern.sub(replacement, key)
    return key


class Speller:
    """The words of a version's documents, by how they sound."""

    def __init__(
        self, documents: Iterable[str], asked: Iterable[str] = (), protected: Iterable[str] = ()
    ) -> None:
        """``documents``: the rules' texts (their words are the corrections); ``asked``: anticipated
        questions (how often people type a word); ``protected``: words never corrected (the lexicon's)."""
        rules = _counts(documents)
        self.counts = rules + _counts(asked)
        self.known = set(rules) | {fold(w) for w in protected}
        self.by_sound: dict[str, str] = {}
        for word, _ in sorted(rules.items(), key=lambda kv: (-self.counts[kv[0]], kv[0])):
            self.by_sound.setdefault(sound_key(word), word)

    def correct(self, text: str) -> str:
        """``text`` with each unknown word that sounds like a document word replaced by it."""

        def fix(match: re.Match[str]) -> str:
            word = fold(match.group(0))
            if len(word) < MIN_LETTERS or word in self.known:
                return match.group(0)
            fixed = self.by_sound.get(sound_key(word))
            if fixed is None or self.counts[fixed] < PREFERENCE * self.counts[word]:
                return match.group(0)
            return fixed

        return _WORD.sub(fix, text)


def _counts(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w in (fold(m) for m in _WORD.findall(text)) if len(w) >= MIN_LETTERS)
    return counts


def version_speller(version: IndexVersion) -> Speller:
    """The version's speller, built at its first question (documents, anticipated questions, lexicon)."""
    speller = version.cache.get("speller")
    if speller is None:
        asked = [q.text for q in version.questions.questions] if version.questions is not None else []
        texts = [str(c["text"]) for c in version.chunks]
        speller = version.cache["speller"] = Speller(texts, asked, version.lexicon.vocabulary())
    assert isinstance(speller, Speller)
    return speller
