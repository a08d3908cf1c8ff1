"""The on-disk layout of the index, in one place (ingestion writes it, the core reads it).

Under ``<data_dir>/index``::

    ACTIVE                      {"version": "<id>", "switched_at": ...}  (replaced atomically)
    history.jsonl               one line per switch (ingest / rollback)
    versions/<id>/              a complete version: manifest.json, chunks.jsonl, vectors.npy,
                                sentences.jsonl, sentence_vectors.npy, bm25/, eligibility/,
                                reviewed.jsonl, reviewed_vectors.npy, questions.jsonl,
                                question_vectors.npy
    versions/.<id>.partial/     a version being written (ignored by readers, removed by the next run)
    chroma/                     embedded Chroma; one collection per version ("campo-<id>")

and ``<data_dir>/ingest.lock``, held by the one ingestion (or rollback) running.
"""

from __future__ import annotations

from pathlib import Path

ACTIVE = "ACTIVE"
HISTORY = "history.jsonl"
VERSIONS_DIR = "versions"
CHROMA_DIR = "chroma"
INGEST_LOCK = "ingest.lock"

# Files of one version
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
SENTENCES = "sentences.jsonl"
SENTENCE_VECTORS = "sentence_vectors.npy"
BM25_DIR = "bm25"
RULES_DIR = "eligibility"  # eligibility rules files of a version (corpus/eligibility/ at ingestion)
REVIEWED_ENTRIES = "reviewed.jsonl"  # servable reviewed answers (corpus/reviewed-answers.yaml at ingestion)
REVIEWED_VECTORS = "reviewed_vectors.npy"  # one e5 vector per reviewed question and variant
QUESTIONS = "questions.jsonl"  # anticipated questions of each section (corpus/questions/ at ingestion)
QUESTION_VECTORS = "question_vectors.npy"  # one e5 vector per anticipated question

PARTIAL_GLOB = ".*.partial"


def versions_dir(index_dir: Path) -> Path:
    return index_dir / VERSIONS_DIR


def version_dir(index_dir: Path, version_id: str) -> Path:
    return versions_dir(index_dir) / version_id


def partial_dir(index_dir: Path, version_id: str) -> Path:
    """Where a version is written before it is complete (matches :data:`PARTIAL_GLOB`)."""
    return versions_dir(index_dir) / f".{version_id}.partial"
