"""The one core every adapter calls: ``Assistant.ask`` → cited ``Answer`` (or an honest abstention)."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Any

import numpy as np

from assistant.answering import ExtractiveAnswerer, attribution, strip_article_lead
from assistant.clarify import clarification_text, picked_program, programs_to_ask
from assistant.decision import UNSURE_PAIR, decide, runner_up
from assistant.eligibility import EligibilityService
from assistant.embeddings import CampoEmbeddings, make_embeddings
from assistant.errors import EmptyQuestion, QuestionTooLong
from assistant.models import Answer, Citation, CoreStatus, DocumentInfo, Filters, IndexInfo, Passage
from assistant.query import Query, analyze_question, focus_clause
from assistant.ranking import (
    PASSAGE_FEATURES,
    RankerModels,
    VersionFeatures,
    passage_features,
)
from assistant.retrieval import Hit, HybridRetriever, Retrieval
from assistant.review import ReviewDesk
from assistant.sessions import SessionStore, Turn, make_session_store
from assistant.settings import Settings
from assistant.spelling import version_speller
from assistant.text import analyze, fold
from assistant.tuning import Tuning
from assistant.versions import (
    RULES_DIR,
    IndexVersion,
    VersionManager,
    complete_versions,
    read_active,
    read_history,
    versions_dir,
)

log = logging.getLogger(__name__)

_FOLLOW_UP_START = re.compile(
    r"^\s*[¿¡]?\s*(y|e|o|entonces|tambien|también|pero|ademas|además|igual|y\s+si|y\s+para|y\s+los|y\s+las"
    r"|y\s+el|y\s+la|eso|esto|ese|esa|en\s+ese\s+caso)\b",
    re.IGNORECASE,
)

# A follow-up that asks for something of its own ("¿y hasta cuándo hay ventanilla?") keeps only the
# previous turn's subject (its document); one that doesn't ("¿y si soy pescador?") keeps its intent.
_ASKS_FOR = re.compile(
    r"\b(cuando|cuanto|cuanta|cuantos|cuantas|fecha|fechas|plazo|ventanillas?|montos?|requisitos?|documentos?"
    r"|papeles|quien|quienes|donde|porcentaje|obligaciones|duracion|dura|cierra|cierran|abre|abren)\b"
)


def evidence_score(retrieval: Retrieval, tuning: Tuning | None = None) -> float:
    """How strongly the index supports answering: the best passage's dense similarity, plus the best
    BM25 score (saturated), minus the share of question words the index has never seen.

    Chosen on XQuAD-es dev and the sample-corpus questions (docs/benchmarks.md); the threshold it is
    compared with is ``CAMPO_ABSTAIN_THRESHOLD``."""
    t = tuning or Tuning()
    if not retrieval.hits:
        return 0.0
    bm25 = retrieval.bm25_max
    return (
        retrieval.hits[0].chunk_dense
        + t.bm25_evidence_weight * bm25 / (bm25 + t.bm25_saturation)
        - t.unknown_penalty * retrieval.unknown_share
    )


def tuning_for(settings: Settings) -> Tuning:
    """The question road's weights, with the knobs that are settings taken from them."""
    return Tuning(
        candidate_k=settings.candidate_k,
        dense_weight=settings.dense_weight,
        near_duplicate=settings.near_duplicate_threshold,
        abstain_threshold=settings.abstain_threshold,
        answer_floor=settings.answer_floor,
    )


class Assistant:
    """Answers questions from the active index version. Thread-safe; one instance per process."""

    def __init__(
        self,
        settings: Settings,
        *,
        embeddings: CampoEmbeddings | None = None,
        sessions: SessionStore | None = None,
        llm: Any = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings)
        self.sessions = sessions or make_session_store(settings)
        self.versions = VersionManager(settings, self.embeddings)
        self.tuning = tuning_for(settings)
        self.retriever = HybridRetriever(
            self.embeddings,
            candidate_k=self.tuning.candidate_k,
            fusion=settings.fusion,
            dense_weight=self.tuning.dense_weight,
            near_duplicate=self.tuning.near_duplicate,
            mode=settings.retrieval_mode,
        )
        self.models = (
            RankerModels.load(self.embeddings.model_id) if settings.ranker == "learned" else RankerModels()
        )
        self.answerer = ExtractiveAnswerer(
            self.tuning, self.models.sentence if self.tuning.learned_sentences else None
        )
        if llm is None and settings.llm_provider != "none":
            from assistant.llm import make_llm_answerer

            llm = make_llm_answerer(settings)
        self.llm = llm
        self._eligibility: tuple[str, EligibilityService] | None = None
        self._eligibility_lock = threading.Lock()
        self.review = ReviewDesk(settings, self.embeddings, self.versions)  # the staff's review loop

    # --- questions ------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        filters: Filters | None = None,
        max_chars: int | None = None,
    ) -> Answer:
        started = time.perf_counter()
        question = self._clean(question)
        budget = max_chars or self.settings.answer_max_chars
        history = self.sessions.history(session_id) if session_id else []
        version = self.versions.current()
        resolved = self.resolve_follow_up(question, history)
        chosen = None
        if history and history[-1].clarify:
            # The reply to "¿de cuál programa?": the first question, in the chosen program's rules.
            chosen = picked_program(version, question, history[-1].clarify, version.lexicon)
            if chosen:
                resolved = history[-1].question
                filters = (filters or Filters()).model_copy(update={"component": chosen[0]})
        reviewed = self.review.match(version, question)
        if reviewed is not None:
            return self._reviewed(reviewed, question, resolved, session_id)
        query, retrieval, hits = self._find(version, resolved, None, filters)
        evidence = evidence_score(retrieval, self.tuning)
        threshold = self.tuning.abstain_threshold
        confidence = 1 / (1 + math.exp(-self.tuning.confidence_slope * (evidence - threshold)))
        answerable, second, sure = self._decide(version, query, hits, evidence)
        if sure is not None:
            confidence = sure
        elsewhere = self._elsewhere(version, question, query if resolved == question else None)
        if not answerable or elsewhere:
            # A question that names no program, with several programs' rules competing: ask which.
            ask_which = [] if elsewhere else self._ask_which(version, query, hits)
            text = clarification_text(ask_which, budget)
            answer = Answer(
                text=text or self.abstention_text(budget, chosen[1] if chosen else "", elsewhere),
                abstained=True,
                # sure of an abstention: 1 − the answer's probability; a program outside the rules: sure
                confidence=1.0 if elsewhere else round(1 - confidence, 3),
                citations=[],
                index_version=version.version_id,
                query_used=resolved,
                clarify=ask_which if text else [],
            )
        else:
            unsure = sure is not None and sure < self.tuning.answer_floor
            answer = self._compose(version, question, query, hits, budget, confidence, second, unsure)
            answer.query_used = resolved
        if session_id:
            self.sessions.append(
                session_id,
                Turn(
                    question=question,
                    query=resolved,
                    answer=answer.text,
                    abstained=answer.abstained,
                    citations=[c.model_dump() for c in answer.citations[:1]],
                    clarify=answer.clarify,
                ),
            )
        log.info(
            "ask version=%s abstained=%s evidence=%.3f ms=%.1f",
            version.version_id,
            answer.abstained,
            evidence,
            (time.perf_counter() - started) * 1000,
        )
        return answer

    def _reviewed(self, answer: Answer, question: str, resolved: str, session_id: str | None) -> Answer:
        """A reviewed answer of the program's staff, remembered in the conversation like any other."""
        answer.query_used = resolved
        if session_id:
            citations = [c.model_dump() for c in answer.citations[:1]]
            turn = Turn(
                question=question, query=resolved, answer=answer.text, abstained=False, citations=citations
            )
            self.sessions.append(session_id, turn)
        log.info("ask version=%s reviewed=true", answer.index_version)
        return answer

    def _compose(
        self,
        version: IndexVersion,
        question: str,
        query: Query,
        hits: list[Hit],
        budget: int,
        confidence: float,
        second: Hit | None = None,
        unsure: bool = False,
    ) -> Answer:
        if self.llm is not None:
            passages = [self._passage(version, h) for h in hits]
            result = self.llm.answer(question, passages, max_chars=budget)
            if result is not None:
                citations = [self._citation(version, hits[i], passages[i].text[:300]) for i in result.cited]
                # Renumber markers so that [n] in the text is citations[n-1].
                order = {old + 1: new + 1 for new, old in enumerate(result.cited)}
                text = re.sub(
                    r"\[(\d+)\]", lambda m: f"[{order.get(int(m.group(1)), m.group(1))}]", result.text
                )
                return self._answer(version, text, citations, confidence, answerer="llm")
        by_row = {h.row: h for h in hits}
        if second is not None:
            # Two close candidates from different articles: both, each cited, rather than one wrong one
            # (said plainly when the answer model is unsure of the first alone).
            lead = UNSURE_PAIR if unsure else ""
            joiner = "\n\nTambién: "
            room = budget - len(lead) - len(joiner)
            first = self._cited_extract(version, query, hits[:1], room * 11 // 20)
            text2, row2, snippet2 = self._cited_extract(version, query, [second], room - len(first[0]))
            text, citations = (
                f"{lead}{first[0]}{joiner}{text2}",
                [
                    self._citation(version, by_row[first[1]], first[2]),
                    self._citation(version, by_row[row2], snippet2),
                ],
            )
        else:
            text, row, snippet = self._cited_extract(version, query, hits, budget)
            citations = [self._citation(version, by_row[row], snippet)]
            citations += [self._citation(version, h, "") for h in hits[1:3] if h.row != row]
        return self._answer(version, text, citations, confidence)

    @staticmethod
    def _answer(
        version: IndexVersion,
        text: str,
        citations: list[Citation],
        confidence: float,
        answerer: str = "extractive",
    ) -> Answer:
        return Answer(
            text=text,
            abstained=False,
            confidence=round(confidence, 3),
            citations=citations,
            index_version=version.version_id,
            answerer=answerer,
        )

    def _cited_extract(
        self, version: IndexVersion, query: Query, hits: list[Hit], budget: int
    ) -> tuple[str, int, str]:
        """'Según …, Artículo N: <the sentences that answer>' within ``budget``: (text, row, snippet)."""
        room = budget - len(attribution(version.chunks[hits[0].row])) - 2
        for _ in range(3):  # the chosen passage may have a longer attribution than the first hit
            extract = self.answerer.extract(version, hits, query, self._features(version), max(40, room))
            row = extract.chunk_rows[0]
            lead = attribution(version.chunks[row])
            body = strip_article_lead(extract.body, lead)
            separator = ":\n" if "\n" in body else ": "
            overflow = len(lead) + len(separator) + len(body) - budget
            if overflow <= 0:
                break
            room -= overflow
        return f"{lead}{separator}{body}", row, extract.snippets[row]

    def _decide(
        self, version: IndexVersion, query: Query, hits: list[Hit], evidence: float
    ) -> tuple[bool, Hit | None, float | None]:
        """Answer or abstain, and a second article to show (``assistant.decision.decide``)."""
        return decide(self.tuning, self.models, query, hits, runner_up(version, hits), evidence)

    def _elsewhere(self, version: IndexVersion, question: str, analysed: Query | None) -> str:
        """A program the rules do not cover that the producer's own message names ('y sembrando vida
        cuanto paga'), when it names none they cover: '' or its name (lexicon ``elsewhere``). The
        message as written, not as resolved against the conversation, which may add a program
        (``analysed``: the message's own analysis, when it was not resolved)."""
        if analysed is not None:
            tokens = analysed.tokens
        else:
            tokens = version.lexicon.normalize(version_speller(version).correct(question))
        if version.lexicon.programs_in(tokens):
            return ""
        covered = self._features(version).elsewhere_covered
        return next(iter(version.lexicon.elsewhere_in(tokens, covered)), "")

    def _ask_which(self, version: IndexVersion, query: Query, hits: list[Hit]) -> list[str]:
        """The programs to ask "¿de cuál?" about (needs the ranker's probabilities, not fused scores)."""
        if self.models.passage_for(query.near.known) is None:
            return []
        return programs_to_ask(version, query, hits, self.tuning.clarify_floor)

    def resolve_follow_up(self, question: str, history: list[Turn]) -> str:
        """'¿y si soy pescador?' after a question on requisitos → both questions as the query;
        '¿y hasta cuándo hay ventanilla?' after one on PROPESCA → the question + PROPESCA's title."""
        if not history:
            return question
        last = history[-1]
        content = analyze(question)
        if not (_FOLLOW_UP_START.match(question) or len(content) <= 2):
            return question
        subject = str(last.citations[0].get("title") or "") if last.citations else ""
        if subject and _ASKS_FOR.search(fold(question)):
            return f"{question} {subject}"
        # The previous question as asked (not its resolved query): its intent, without a subject that
        # was only added to resolve it ("¿y si soy de cadenas de valor?" must not stay on PROPESCA).
        return f"{last.question} {question}"

    def _clean(self, question: str) -> str:
        question = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", question or "").strip()
        if not question or (not analyze(question) and not fold(question).strip("¿?¡! ")):
            raise EmptyQuestion("empty question")
        if len(question) > self.settings.max_question_chars:
            raise QuestionTooLong(f"{len(question)} chars")
        return question

    # --- search and catalogue -------------------------------------------------------------
    def search(self, query: str, *, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        return self.search_with_version(query, k=k, filters=filters)[0]

    def search_with_version(
        self, query: str, *, k: int | None = None, filters: Filters | None = None
    ) -> tuple[list[Passage], str]:
        query = self._clean(query)
        version = self.versions.current()
        _, _, hits = self._find(version, query, k, filters)
        return [self._passage(version, h) for h in hits], version.version_id

    # --- the question road: analyse once → candidates → ranking --------------------------------
    def analyze(self, version: IndexVersion, question: str, allowed: np.ndarray | None = None) -> Query:
        """The question analysed once, against the version's lexicon, vocabulary and model (and the
        anticipated questions of the ``allowed`` chunk rows, when a filter keeps only some)."""
        query = analyze_question(version_speller(version).correct(question), version.lexicon)
        query.vector = self.embeddings.embed_query_vector(query.search_text)
        query.focus = focus_clause(query.text, version.lexicon, self.tuning.focus_min_words)
        if query.focus:
            # A long message: its whole text and its asking clause, equally (docs/benchmarks.md § seventh
            # session); the words of both stay in BM25 through the whole text.
            focus = analyze_question(query.focus, version.lexicon)  # already spelled
            mixed = query.vector + self.embeddings.embed_query_vector(focus.search_text)
            query.vector = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
        query.terms, query.unknown_share = version.lexical.analyze_query(query.search_text)
        query.term_idf = {t: version.lexical.idf(t) for t in query.terms}
        if version.questions is not None:
            query.near = version.questions.match(query.vector, query.search_text, self.tuning, allowed)
        return query

    def _find(
        self, version: IndexVersion, question: str, k: int | None, filters: Filters | None
    ) -> tuple[Query, Retrieval, list[Hit]]:
        """The one retrieval call of the core: analysed question, its candidates, and the ranked top k."""
        k = k or self.settings.retrieval_k
        query = self.analyze(version, question, version.mask(_filter_dict(filters)))
        vf = self._features(version)
        extra = [row for program in query.programs for row in vf.rows_of_kind.get((program, query.kind), ())]
        extra += query.near.rows  # the sections whose anticipated questions are nearest
        retrieval = self.retriever.retrieve(
            version,
            query.search_text,
            k=max(k, self.tuning.rerank_k),
            filters=_filter_dict(filters),
            query_vector=query.vector,
            extra_rows=extra,
            analyzed=(query.terms, query.unknown_share),
        )
        hits = self._rank(version, query, retrieval.hits)[:k]
        return query, retrieval, hits

    def _rank(self, version: IndexVersion, query: Query, hits: list[Hit]) -> list[Hit]:
        model = self.models.passage_for(query.near.known)
        vf = self._features(version)
        # A producer who names a program asks about its rules (docs/benchmarks.md § Domain questions).
        hits = vf.candidates(hits, query)
        if not hits:
            return hits
        if model is None:
            for h in hits:
                h.rank_score = h.score
        else:
            rows = passage_features(query, hits, vf, version.sentences_of_chunk)
            logits = model.score(rows[:, [PASSAGE_FEATURES.index(f) for f in model.features]])
            for h, z, row in zip(hits, logits, rows, strict=True):
                h.rank_score = float(1 / (1 + math.exp(-z)))
                h.features = row
            hits = sorted(hits, key=lambda h: -h.rank_score)
        # "¿qué es X?" and one document's glossary defines X: that entry first (docs/benchmarks.md § eighth
        # session).
        defining = vf.definer(query, hits, version.sentences_of_chunk)
        if defining is not None:  # a new list: ``hits`` may be the retrieval's own (its first is evidence)
            at, entry = defining
            hits = [hits[at], *hits[:at], *hits[at + 1 :]]
            hits[0].defines = entry
        return hits

    @staticmethod
    def _features(version: IndexVersion) -> VersionFeatures:
        vf = version.cache.get("features")
        if vf is None:
            vf = version.cache["features"] = VersionFeatures(
                version.chunks, version.sentences, version.lexicon
            )
        assert isinstance(vf, VersionFeatures)
        return vf

    def documents(self) -> list[DocumentInfo]:
        version = self.versions.current()
        fields = DocumentInfo.model_fields
        return [
            DocumentInfo(**{k: v for k, v in d.items() if k in fields}) for d in version.manifest["documents"]
        ]

    def eligibility(self) -> EligibilityService:
        """The eligibility rules stored with the active index version (validated at ingestion), so a
        re-ingest or a rollback changes rules and documents together. No rules → no components."""
        version = self.versions.current()
        with self._eligibility_lock:
            if self._eligibility is None or self._eligibility[0] != version.version_id:
                folder = versions_dir(self.settings.index_dir) / version.version_id / RULES_DIR
                service = EligibilityService(folder if folder.is_dir() else [])
                self._eligibility = (version.version_id, service)
            return self._eligibility[1]

    def index_info(self) -> IndexInfo:
        index_dir = self.settings.index_dir
        return IndexInfo(
            active_version=read_active(index_dir),
            versions=[
                {"version": v, "active": v == read_active(index_dir)}
                for v in reversed(complete_versions(index_dir))
            ]
            + [],
        )

    def history(self) -> list[dict[str, Any]]:
        return read_history(self.settings.index_dir)

    def forget(self, session_id: str) -> None:
        self.sessions.forget(session_id)

    def last_turn(self, session_id: str) -> Turn | None:
        turns = self.sessions.history(session_id)
        return turns[-1] if turns else None

    def is_ready(self) -> bool:
        return self.versions.peek() is not None

    def topics(self) -> list[str]:
        version = self.versions.peek()
        if version is None:
            return []
        names = []
        # Program rules first, then guides and presentations (the abstention text may cut the list).
        documents = sorted(
            version.manifest["documents"],
            key=lambda d: d.get("doc_type", "reglas") not in ("reglas", "lineamientos"),
        )
        for d in documents:
            name = d.get("component_name") or d.get("title")
            if name and name not in names:
                names.append(name)
        return names

    def abstention_text(self, budget: int | None = None, program: str = "", elsewhere: str = "") -> str:
        """The honest 'not in the rules' answer: what is covered and whom to ask, within the budget
        (in the rules of ``program`` when the producer chose one: then the topics are not listed;
        ``elsewhere``: the program outside the rules the producer named)."""
        tail = "Para su caso, pregunte en la ventanilla de su estado o en la oficina del programa."
        if program:
            return f"No lo encontré en las reglas de {program}, así que prefiero no adivinar. {tail}"
        head = "No lo encontré en las reglas que tengo cargadas, así que prefiero no adivinar. "
        if elsewhere:
            head = f"{elsewhere} no está en las reglas que tengo cargadas, así que prefiero no adivinar. "
            tail = "Para eso, pregunte en la oficina de ese programa o dependencia."
        room = (budget or self.settings.answer_max_chars) - len(head) - len(tail)
        listed: list[str] = []
        for topic in self.topics():
            candidate = "Puedo responder sobre: " + "; ".join([*listed, topic]) + ". "
            if len(candidate) > room:
                break
            listed.append(topic)
        middle = ("Puedo responder sobre: " + "; ".join(listed) + ". ") if listed else ""
        return head + middle + tail

    # --- helpers --------------------------------------------------------------------------
    @staticmethod
    def _passage(version: IndexVersion, hit: Hit) -> Passage:
        c = version.chunks[hit.row]
        return Passage(
            chunk_id=c["chunk_id"],
            document_id=c["document_id"],
            title=c["title"],
            program=c.get("program") or "",
            component=c.get("component") or "",
            fiscal_year=c.get("fiscal_year"),
            section=c.get("section") or "",
            page=c.get("page"),
            text=c["text"],
            score=round(hit.score, 4),
        )

    @staticmethod
    def _citation(version: IndexVersion, hit: Hit, snippet: str) -> Citation:
        c = version.chunks[hit.row]
        return Citation(
            document_id=c["document_id"],
            title=c.get("short_title") or c["title"],
            section=c.get("section") or "",
            page=c.get("page"),
            fiscal_year=c.get("fiscal_year"),
            snippet=snippet or c["text"][:240],
            score=round(hit.score, 4),
            text=c["text"],
        )

    # --- interface for adapters ----------------------------------------------------------------
    # What HTTP routes, bot handlers and the CLI may call besides ask/search/eligibility/forget/last_turn/
    # topics/abstention_text: they never reach into versions, retriever, embeddings or settings.
    def status(self) -> CoreStatus:
        """Readiness without waiting for a load: the version held (none yet = not ready) and the model."""
        version = self.versions.peek()
        return CoreStatus(
            ready=version is not None,
            index_version=version.version_id if version else None,
            embedding_model=self.embeddings.model_id,
        )

    def documents_with_version(self) -> tuple[list[DocumentInfo], str]:
        """The active version's documents and that version's id (one consistent read)."""
        version = self.versions.current()
        fields = DocumentInfo.model_fields
        documents = [
            DocumentInfo(**{k: v for k, v in d.items() if k in fields}) for d in version.manifest["documents"]
        ]
        return documents, version.version_id

    def document(self, document_id: str) -> DocumentInfo | None:
        """One document of the active version by id, or ``None``."""
        return next((d for d in self.documents_with_version()[0] if d.document_id == document_id), None)


def _filter_dict(filters: Filters | None) -> dict[str, Any]:
    return filters.model_dump() if filters else {}
