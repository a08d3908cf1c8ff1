"""The review loop as adapters see it: :class:`ReviewDesk`, held by the core as ``Assistant.review``.

* Channels report what needs a person: :meth:`ReviewDesk.observe` after every answer (abstentions, and
  answers below ``CAMPO_REVIEW_LOW_CONFIDENCE``), :meth:`ReviewDesk.downvoted` after a 👎.
* Staff read and close items through :attr:`ReviewDesk.queue` (HTTP routes, staff page).
* :meth:`ReviewDesk.match` answers a question from the active version's reviewed answers.

Publishing (writing ``reviewed-answers.yaml`` and ingesting a new version) is ingestion's job
(:mod:`ingestion.reviewed_source`); the core only reads what a version holds.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from assistant.errors import CampoError
from assistant.models import Answer
from assistant.review_queue import ReviewQueue, make_review_queue
from assistant.reviewed import ReviewedAnswers
from assistant.settings import Settings

log = logging.getLogger(__name__)


class ReviewDesk:
    """Review queue, reviewed answers of the active version, and the figures of both."""

    def __init__(self, settings: Settings, embeddings: Any, versions: Any) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.versions = versions
        self.answers = ReviewedAnswers(settings.index_dir, embeddings, settings.review_match_threshold)
        self._queue: ReviewQueue | None = None
        self._lock = threading.Lock()
        self._served = {"reviewed": 0, "total": 0}

    @property
    def queue(self) -> ReviewQueue:
        with self._lock:
            if self._queue is None:
                self._queue = make_review_queue(self.settings)
            return self._queue

    # --- serving ----------------------------------------------------------------------------
    def match(self, version: Any, question: str) -> Answer | None:
        """The reviewed answer for ``question`` in ``version`` (an IndexVersion), or None."""
        answer = self.answers.match(version, question)
        with self._lock:
            self._served["total"] += 1
            self._served["reviewed"] += answer is not None
        return answer

    def served_share(self) -> tuple[int, int]:
        """(questions answered from reviewed answers, questions asked) by this process."""
        with self._lock:
            return self._served["reviewed"], self._served["total"]

    def _active_id(self) -> str | None:
        try:
            return str(self.versions.current().version_id)
        except CampoError:  # no index yet
            return None

    def published(self, entry_id: str) -> bool:
        """Whether the active index version serves the reviewed entry ``entry_id``."""
        version_id = self._active_id()
        return version_id is not None and entry_id in self.answers.served_ids(version_id)

    def entry_text(self, entry_id: str) -> str | None:
        """The text a producer gets for a published entry (for notifications), or None."""
        from assistant.reviewed import reviewed_text

        version_id = self._active_id()
        if not version_id:
            return None
        entry = next((e for e in self.answers.of_version(version_id).entries if e.id == entry_id), None)
        return None if entry is None else reviewed_text(entry)

    # --- what needs a person ------------------------------------------------------------------
    def observe(self, question: str, answer: Answer, channel: str) -> str | None:
        """Queue an abstention or a low-confidence answer; returns the item id (None if not queued)."""
        if answer.reviewed:
            return None
        if answer.abstained:
            reason = "abstained"
        elif answer.confidence < self.settings.review_low_confidence:
            reason = "low_confidence"
        else:
            return None
        return self._submit(
            question, reason, channel, answer.text, [c.model_dump() for c in answer.citations]
        )

    def downvoted(
        self, question: str, answer_text: str, channel: str, citations: list[dict[str, Any]] | None = None
    ) -> str | None:
        """Queue an answer a producer (or staff) voted 👎."""
        return self._submit(question, "downvoted", channel, answer_text, citations or [])

    def _submit(
        self, question: str, reason: str, channel: str, answer: str, citations: list[dict[str, Any]]
    ) -> str | None:
        try:
            vector = self.embeddings.embed_query_vector(question)
            return self.queue.submit(
                question, reason, channel, answer=answer, citations=citations, vector=vector
            )
        except Exception:  # the producer still gets the answer; the failure is in the log
            log.exception("question not added to the review queue (%s)", reason)
            return None

    # --- what staff cite ----------------------------------------------------------------------
    def sections(self) -> dict[str, list[str]]:
        """Each document of the active version with its sections (what a reviewed answer may cite)."""
        version = self.versions.current()
        out: dict[str, list[str]] = {}
        for c in version.chunks:
            out.setdefault(c["document_id"], []).append(c.get("section") or "")
        return out

    def documents(self) -> dict[str, dict[str, Any]]:
        """The active version's document records (fiscal year, content hash) by id."""
        version = self.versions.current()
        return {d["document_id"]: d for d in version.manifest["documents"]}
