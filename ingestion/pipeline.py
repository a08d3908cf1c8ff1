"""Ingestion: files → documents → chunks → vectors → a new complete index version → atomic switch.

The only writer of the index. Unchanged documents are copied from the active version with their
vectors; changed text goes through the embedding cache, so only new chunk text is embedded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embeddings import CachedEmbeddings, CampoEmbeddings, make_embeddings
from assistant.layout import (
    BM25_DIR,
    CHUNKS,
    MANIFEST,
    RULES_DIR,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTORS,
    partial_dir,
    versions_dir,
)
from assistant.lexical import LexicalIndex
from assistant.lexicon import LEXICON_FILE
from assistant.normalize import slugify
from assistant.settings import Settings
from assistant.store import VersionCollection, make_client
from assistant.text import ANALYZER_VERSION, split_units
from assistant.versions import FORMAT, load_jsonl, read_active, read_manifest
from ingestion.lexicon_source import lexicon_digest, lexicon_for_version
from ingestion.publish import garbage_collect, ingestion_lock, switch_active
from ingestion.questions_source import QuestionSet, questions_for_version, write_questions
from ingestion.report import IngestReport
from ingestion.reviewed_source import ReviewedSet, reviewed_for_version, sections_of, write_reviewed
from ingestion.rules_source import Rules, eligibility_rules, rules_source
from ingestion.sample_check import sample_notes

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
IGNORED_SUFFIXES = {".yaml", ".yml", ".json"}  # sidecars and eligibility rules live beside documents
SPLITTER_VERSION = 2  # 2: chunks bounded by max_chars, scripts/comments dropped (reliability fixes)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for p in (path, path.with_name(path.name + ".meta.yaml")):
        if p.exists():
            digest.update(p.read_bytes())
    return digest.hexdigest()


@dataclass
class SourceFile:
    path: Path
    root: Path | None  # the folder it was found under (None = named explicitly)


@dataclass
class DocumentBuild:
    """One document's rows for the new version."""

    info: dict[str, Any]
    chunks: list[dict[str, Any]]
    vectors: np.ndarray
    sentences: list[dict[str, Any]] = field(default_factory=list)
    sentence_vectors: np.ndarray | None = None
    problems: list[str] = field(default_factory=list)  # parts of the file that could not be read


def discover(paths: Iterable[Path], report: IngestReport) -> list[SourceFile]:
    from ingestion.loaders import SUPPORTED_SUFFIXES, is_sidecar

    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts):
                    found.append(SourceFile(p, path))
        elif path.is_file():
            found.append(SourceFile(path, None))
        else:
            report.fail(str(path), "no existe el archivo o la carpeta")
    usable = []
    for src in found:
        suffix = src.path.suffix.lower()
        if is_sidecar(src.path) or suffix in IGNORED_SUFFIXES or src.path.name.lower() == "readme.md":
            continue
        if suffix not in SUPPORTED_SUFFIXES:
            report.fail(str(src.path), f"formato no soportado ({suffix or 'sin extensión'})")
            continue
        usable.append(src)
    return usable


def _config_key(settings: Settings, embeddings: CampoEmbeddings) -> str:
    return json.dumps(
        {
            "splitter": SPLITTER_VERSION,
            "analyzer": ANALYZER_VERSION,
            "max": settings.chunk_max_chars,
            "min": settings.chunk_min_chars,
            "model": embeddings.model_id,
        },
        sort_keys=True,
    )


class _Previous:
    """The active version's rows, to copy unchanged documents from."""

    def __init__(self, settings: Settings) -> None:
        self.version_id = read_active(settings.index_dir)
        self.documents: dict[str, dict[str, Any]] = {}
        self.config = ""
        self.rules_hash = ""
        self.lexicon_hash = ""
        self.reviewed_hash = ""
        self.questions_hash = ""
        self.root: Path | None = None
        if not self.version_id:
            return
        try:
            manifest = read_manifest(settings.index_dir, self.version_id)
        except Exception:
            log.warning("active version %s unreadable; rebuilding from scratch", self.version_id)
            self.version_id = None
            return
        self.config = manifest.get("config", "")
        self.rules_hash = manifest.get("eligibility", {}).get("hash", "")
        self.lexicon_hash = manifest.get("lexicon", {}).get("hash", "")
        self.reviewed_hash = manifest.get("reviewed", {}).get("hash", "")
        self.questions_hash = manifest.get("questions", {}).get("hash", "")
        self.documents = {d["document_id"]: d for d in manifest["documents"]}
        self.root = versions_dir(settings.index_dir) / self.version_id
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        assert self.root is not None
        self.chunks = load_jsonl(self.root / CHUNKS)
        self.vectors = np.load(self.root / VECTORS)
        self.sentences = load_jsonl(self.root / SENTENCES)
        self.sentence_vectors = np.load(self.root / SENTENCE_VECTORS)
        self._loaded = True

    def copy(self, document_id: str) -> DocumentBuild:
        self._load()
        rows = [i for i, c in enumerate(self.chunks) if c["document_id"] == document_id]
        chunks = [dict(self.chunks[i]) for i in rows]
        local = {old: new for new, old in enumerate(rows)}
        srows = [i for i, s in enumerate(self.sentences) if s["chunk"] in local]
        sentences = [dict(self.sentences[i], chunk=local[self.sentences[i]["chunk"]]) for i in srows]
        return DocumentBuild(
            info=dict(self.documents[document_id]),
            chunks=chunks,
            vectors=self.vectors[rows],
            sentences=sentences,
            sentence_vectors=self.sentence_vectors[srows],
        )


def _document_info(src: SourceFile, settings: Settings, meta: dict[str, Any], title: str) -> dict[str, Any]:
    corpus = settings.corpus_dir.resolve()
    resolved = src.path.resolve()
    try:
        source_path = str(resolved.relative_to(corpus))
    except ValueError:
        source_path = str(resolved)
    year = meta.get("fiscal_year")
    if year is None:
        match = re.search(r"(20\d\d|19\d\d)", f"{src.path.stem} {title}")
        year = int(match.group(1)) if match else None
    return {
        "document_id": str(meta.get("id") or slugify(Path(source_path).with_suffix("").as_posix())),
        "title": str(meta.get("title") or title),
        "short_title": str(meta.get("short_title") or meta.get("title") or title),
        "program": str(meta.get("program") or "general"),
        "program_name": str(meta.get("program_name") or ""),
        "component": str(meta.get("component") or ""),
        "component_name": str(meta.get("component_name") or ""),
        "fiscal_year": int(year) if year else None,
        "doc_type": str(meta.get("doc_type") or ""),
        "sample": bool(meta.get("sample", False)),
        "source_path": source_path,
    }


def build_document(src: SourceFile, settings: Settings, embeddings: CampoEmbeddings) -> DocumentBuild:
    """Load, split and embed one changed document (raises LoaderError on bad input)."""
    from ingestion.loaders import LoaderError, load_document
    from ingestion.splitter import split_document

    doc = load_document(src.path, max_pdf_pages=settings.max_pdf_pages, max_bytes=settings.max_upload_bytes)
    info = _document_info(src, settings, doc.metadata, doc.title)
    pieces = split_document(doc, max_chars=settings.chunk_max_chars, min_chars=settings.chunk_min_chars)
    if not pieces:
        raise LoaderError("el documento no tiene texto utilizable")
    build = embed_document(info, [(p.text, p.section, p.page) for p in pieces], embeddings)
    build.problems = list(doc.problems)
    return build


def embed_document(
    info: dict[str, Any], pieces: list[tuple[str, str, int | None]], embeddings: CampoEmbeddings
) -> DocumentBuild:
    """Chunk records, sentence units and their vectors for one document."""
    chunks: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    for index, (text, section, page) in enumerate(pieces):
        text_hash = hashlib.sha256(text.encode()).hexdigest()
        chunks.append(
            {
                "chunk_id": f"{info['document_id']}:{index}:{text_hash[:10]}",
                "document_id": info["document_id"],
                "title": info["title"],
                "short_title": info.get("short_title") or info["title"],
                "program": info.get("program") or "general",
                "component": info.get("component") or "",
                "fiscal_year": info.get("fiscal_year"),
                "source_path": info.get("source_path") or "",
                "section": section,
                "page": page,
                "chunk_index": index,
                "content_hash": text_hash,
                "text": text,
            }
        )
        for unit, is_list in split_units(text):
            sentences.append({"chunk": len(chunks) - 1, "text": unit, "list": is_list})
    # Chunks are embedded with their title and section: "Artículo 8" in a question finds the article.
    vectors = embeddings.embed_passages([_passage_text(c) for c in chunks])
    sentence_vectors = embeddings.embed_passages([s["text"] for s in sentences])
    return DocumentBuild(info, chunks, vectors, sentences, sentence_vectors)


def build_records_version(
    settings: Settings, records: list[dict[str, Any]], embeddings: CampoEmbeddings, lexicon: str = ""
) -> str:
    """Index pre-split records as a new active version, skipping the loaders.

    Each record is one chunk: ``document_id``, ``title``, ``text`` and optional ``section``, ``page``,
    ``short_title``, ``program``, ``component``, ``fiscal_year``. Records of one document are chunks
    in order. Used by evaluations (one XQuAD paragraph per document) and tests. No eligibility rules;
    ``lexicon`` is the text of a domain lexicon file (none by default).
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        grouped.setdefault(rec["document_id"], []).append(rec)
    with ingestion_lock(settings):
        garbage_collect(settings)
        cached = CachedEmbeddings(embeddings, settings.embedding_cache_db)
        try:
            builds = {}
            for doc_id, recs in grouped.items():
                info = {k: v for k, v in recs[0].items() if k not in ("text", "section", "page", "part")}
                joined = "\n".join(r["text"] for r in recs)
                info.setdefault("content_hash", hashlib.sha256(joined.encode()).hexdigest())
                info.setdefault("ingested_at", _now())
                pieces = [(r["text"], r.get("section", ""), r.get("page")) for r in recs]
                builds[doc_id] = embed_document(info, pieces, cached)
            config = _config_key(settings, cached)
            version_id = _write_version(
                settings, builds, config, cached.model_id, cached.dim, None, lexicon=lexicon
            )
        finally:
            cached.close()
        switch_active(settings, version_id, reason="records")
        garbage_collect(settings)
    return version_id


def lexical_text(chunk: dict[str, Any]) -> str:
    """What BM25 indexes: the text plus its section, document title and component."""
    extras = (
        chunk.get("section"),
        chunk.get("short_title"),
        (chunk.get("component") or "").replace("-", " "),
    )
    return "\n".join([chunk["text"], *(x for x in extras if x)])


def _passage_text(chunk: dict[str, Any]) -> str:
    head = " — ".join(x for x in (chunk.get("short_title") or chunk["title"], chunk.get("section")) if x)
    return f"{head}\n{chunk['text']}"


def ingest(
    settings: Settings,
    paths: Iterable[Path] | None = None,
    *,
    embeddings: CampoEmbeddings | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Build and activate a new index version. Folders are authoritative (files gone from them are
    removed from the index); single files are added or updated. Raises IngestionBusy if one runs."""
    started = time.monotonic()
    report = IngestReport()
    with ingestion_lock(settings):
        garbage_collect(settings, report.notes)  # leftovers of a killed run
        inner = embeddings or make_embeddings(settings)
        cached = CachedEmbeddings(inner, settings.embedding_cache_db)
        try:
            _run(settings, list(paths or [settings.corpus_dir]), cached, report, progress)
        finally:
            report.chunks_embedded = cached.misses
            cached.close()
        report.seconds = round(time.monotonic() - started, 2)
    log.info("ingestion finished: %s", report.summary_line())
    return report


def _run(
    settings: Settings,
    paths: list[Path],
    embeddings: CachedEmbeddings,
    report: IngestReport,
    progress: ProgressFn | None,
) -> None:
    from ingestion.loaders import LoaderError

    previous = _Previous(settings)
    config = _config_key(settings, embeddings)
    reuse_ok = previous.config == config
    sources = discover(paths, report)
    roots = {p.resolve() for p in paths if Path(p).is_dir()}
    builds: dict[str, DocumentBuild] = {}
    for done, src in enumerate(sources, 1):
        if progress:
            progress(f"leyendo {src.path.name}", done - 1, len(sources))
        try:
            digest = file_hash(src.path)
            old = _previous_for(previous, src, settings)
            if old and reuse_ok and old["content_hash"] == digest:
                build = previous.copy(old["document_id"])
                report.unchanged.append(old["document_id"])
                report.chunks_reused += len(build.chunks)
            else:
                build = build_document(src, settings, embeddings)
                build.info.update(content_hash=digest, ingested_at=_now())
                doc_id = build.info["document_id"]
                report.notes.extend(f"{doc_id}: {problem}" for problem in build.problems)
                (report.updated if doc_id in previous.documents else report.added).append(doc_id)
            doc_id = build.info["document_id"]
            if doc_id in builds:
                raise LoaderError(f"id de documento repetido ({doc_id}); cambie 'id' en sus metadatos")
            builds[doc_id] = build
        except LoaderError as exc:
            report.fail(str(src.path), str(exc))
        except Exception as exc:
            log.exception("unexpected error loading %s", src.path)
            report.fail(str(src.path), f"error inesperado al leer el archivo: {type(exc).__name__}")
    if progress:
        progress("documentos leídos", len(sources), len(sources))
    # Documents of the previous version not seen in this run: kept unless their folder was scanned.
    for doc_id, info in previous.documents.items():
        if doc_id in builds:
            continue
        if not info.get("source_path"):  # indexed from records (evaluations, tests), not from a file
            if reuse_ok:
                builds[doc_id] = previous.copy(doc_id)
                report.kept.append(doc_id)
            else:
                report.removed.append(doc_id)
                report.notes.append(f"{doc_id}: no tiene archivo de origen y la configuración cambió")
            continue
        src_path = _absolute_source(settings, info["source_path"])
        under_scanned = any(root == src_path or root in src_path.parents for root in roots)
        failed_now = any(Path(f).resolve() == src_path for f, _ in report.failed)
        if under_scanned and not failed_now:
            report.removed.append(doc_id)
        elif reuse_ok:
            builds[doc_id] = previous.copy(doc_id)
            report.kept.append(doc_id)
        elif src_path.exists():  # new model or splitter: vectors can't be mixed, rebuild from source
            try:
                build = build_document(SourceFile(src_path, None), settings, embeddings)
                build.info.update(content_hash=file_hash(src_path), ingested_at=_now())
                builds[doc_id] = build
                report.updated.append(doc_id)
            except LoaderError as exc:
                report.fail(str(src_path), str(exc))
        else:
            report.removed.append(doc_id)
            report.notes.append(f"{doc_id}: su archivo ya no existe y la configuración cambió")
    rules = eligibility_rules(rules_source(roots, previous), builds, report)
    texts = {doc_id: (b.info, "\n".join(c["text"] for c in b.chunks)) for doc_id, b in builds.items()}
    report.notes += sample_notes(roots, texts)  # figures of sample documents: public or illustrative
    lexicon = lexicon_for_version(roots, previous.root, report)
    reviewed = reviewed_for_version(roots, previous.root, sections_of(builds), report, settings, embeddings)
    questions = questions_for_version(
        roots, previous.root, _chunks(builds), lexicon, report, embeddings if builds else None, progress
    )
    changed = (
        report.added
        or report.updated
        or report.removed
        or not previous.version_id
        or not reuse_ok
        or rules.digest != previous.rules_hash
        or lexicon_digest(lexicon) != previous.lexicon_hash
        or reviewed.digest != previous.reviewed_hash
        or questions.digest != previous.questions_hash
    )
    if not changed:
        report.version = previous.version_id
        report.switched = False
        return
    if not builds:
        report.version = previous.version_id
        report.switched = False
        report.notes.append("no quedó ningún documento válido; el índice activo no se modificó")
        return
    version_id = _write_version(
        settings,
        builds,
        config,
        embeddings.model_id,
        embeddings.dim,
        progress,
        rules,
        lexicon,
        reviewed,
        questions,
    )
    switch_active(settings, version_id, reason="ingest")
    garbage_collect(settings, report.notes)
    report.version = version_id
    report.switched = True
    report.total_documents = len(builds)
    report.total_chunks = sum(len(b.chunks) for b in builds.values())
    report.questions = len(questions.questions)


def _absolute_source(settings: Settings, source_path: str) -> Path:
    path = Path(source_path)
    return path if path.is_absolute() else (settings.corpus_dir / path).resolve()


def _previous_for(previous: _Previous, src: SourceFile, settings: Settings) -> dict[str, Any] | None:
    resolved = src.path.resolve()
    for info in previous.documents.values():
        if info.get("source_path") and _absolute_source(settings, info["source_path"]) == resolved:
            return info
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_version_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(2)


def _write_version(
    settings: Settings,
    builds: dict[str, DocumentBuild],
    config: str,
    model_id: str,
    dim: int,
    progress: ProgressFn | None,
    rules: Rules | None = None,
    lexicon: str = "",
    reviewed: ReviewedSet | None = None,
    questions: QuestionSet | None = None,
) -> str:
    from assistant.eligibility import export_rules

    version_id = new_version_id()
    root = versions_dir(settings.index_dir)
    partial = partial_dir(settings.index_dir, version_id)
    partial.mkdir(parents=True)
    chunks: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    vectors, sentence_vectors = [], []
    documents = []
    for doc_id in sorted(builds):
        build = builds[doc_id]
        offset = len(chunks)
        chunks.extend(build.chunks)
        vectors.append(build.vectors)
        sentences.extend(dict(s, chunk=s["chunk"] + offset) for s in build.sentences)
        if build.sentence_vectors is not None:
            sentence_vectors.append(build.sentence_vectors)
        documents.append(dict(build.info, chunks=len(build.chunks)))
    chunk_matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
    sentence_matrix = (
        np.vstack(sentence_vectors).astype(np.float32) if sentence_vectors else np.zeros((0, dim), np.float32)
    )
    _write_jsonl(partial / CHUNKS, chunks)
    _write_jsonl(partial / SENTENCES, sentences)
    np.save(partial / VECTORS, chunk_matrix)
    np.save(partial / SENTENCE_VECTORS, sentence_matrix)
    LexicalIndex.build([lexical_text(c) for c in chunks]).save(partial / BM25_DIR)
    rules = rules or Rules()
    if rules.items:
        export_rules(rules.items, partial / RULES_DIR)
    if lexicon:
        (partial / LEXICON_FILE).write_text(lexicon, encoding="utf-8")
    reviewed = reviewed or ReviewedSet()
    write_reviewed(partial, reviewed, settings.index_dir)
    questions = questions or QuestionSet()
    write_questions(partial, questions)
    if progress:
        progress("escribiendo el índice vectorial", 0, len(chunks))
    collection = VersionCollection(make_client(settings), version_id, None, create=True)
    metadatas = [{k: v for k, v in c.items() if k != "text"} for c in chunks]
    collection.add([c["chunk_id"] for c in chunks], [c["text"] for c in chunks], metadatas, chunk_matrix)
    if collection.count() != len(chunks):
        raise RuntimeError(f"chroma holds {collection.count()} chunks, expected {len(chunks)}")
    manifest = {
        "format": FORMAT,
        "version": version_id,
        "status": "complete",
        "created_at": _now(),
        "config": config,
        "embedding_model": model_id,
        "documents": documents,
        "chunks": len(chunks),
        "sentences": len(sentences),
        "eligibility": {"hash": rules.digest, "components": [r.component for r in rules.items]},
        "lexicon": {"hash": lexicon_digest(lexicon)},
        "reviewed": {"hash": reviewed.digest, "entries": [e.id for e in reviewed.entries]},
        "questions": {"hash": questions.digest, "count": len(questions.questions)},
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    for path in partial.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    final = root / version_id
    os.replace(partial, final)
    if progress:
        progress("índice escrito", len(chunks), len(chunks))
    return version_id


def _chunks(builds: dict[str, DocumentBuild]) -> dict[str, list[dict[str, Any]]]:
    return {d: b.chunks for d, b in builds.items()}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def remove_documents(settings: Settings, document_ids: list[str]) -> IngestReport:
    """A new version without the given documents (their files are left alone)."""
    report = IngestReport()
    started = time.monotonic()
    with ingestion_lock(settings):
        previous = _Previous(settings)
        missing = [d for d in document_ids if d not in previous.documents]
        for d in missing:
            report.fail(d, "no existe ese documento en el índice activo")
        keep = {d: previous.copy(d) for d in previous.documents if d not in document_ids}
        report.removed = [d for d in document_ids if d in previous.documents]
        if report.removed and keep:
            first = next(iter(keep.values()))
            model_id = json.loads(previous.config or "{}").get("model", "")
            rules = eligibility_rules(rules_source(set(), previous), keep, report)
            lexicon = lexicon_for_version(set(), previous.root, report)
            reviewed = reviewed_for_version(set(), previous.root, sections_of(keep), report, settings)
            questions = questions_for_version(set(), previous.root, _chunks(keep), lexicon, report)
            version_id = _write_version(
                settings,
                keep,
                previous.config,
                model_id,
                first.vectors.shape[1],
                None,
                rules,
                lexicon,
                reviewed,
                questions,
            )
            switch_active(settings, version_id, reason="remove " + ",".join(report.removed))
            garbage_collect(settings, report.notes)
            report.version, report.switched = version_id, True
        elif report.removed:
            report.notes.append("no se puede dejar el índice vacío")
            report.removed = []
        report.seconds = round(time.monotonic() - started, 2)
    return report
