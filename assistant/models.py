"""Data shapes shared by the core and its adapters (HTTP, bot, console)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Filters(BaseModel):
    """Metadata filters for retrieval; every field is optional and they combine with AND."""

    program: str | None = Field(
        None, description="Program code, e.g. 'pidr', 'pesca', 'cdi', 'stps', 'inca'."
    )
    component: str | None = Field(None, description="Component code, e.g. 'cadenas-valor', 'ceip', 'osc'.")
    fiscal_year: int | None = Field(
        None, strict=True, ge=1990, le=2100, description="Fiscal year the rules apply to, e.g. 2014."
    )
    document_id: str | None = Field(None, description="One document's id.")


class Passage(BaseModel):
    """A retrieved chunk with its provenance and score."""

    chunk_id: str
    document_id: str
    title: str
    program: str = ""
    component: str = ""
    fiscal_year: int | None = None
    section: str = Field("", description="Section path, e.g. 'Capítulo II > Artículo 12'.")
    page: int | None = None
    text: str
    score: float = 0.0


class Citation(BaseModel):
    """Where a piece of an answer comes from."""

    document_id: str
    title: str
    section: str = ""
    page: int | None = None
    fiscal_year: int | None = None
    snippet: str = Field("", description="The sentences of the passage that support the answer.")
    score: float = 0.0
    text: str = Field("", description="The full source passage (chunk).")


class Answer(BaseModel):
    """What the assistant says to one question."""

    text: str
    abstained: bool
    confidence: float = Field(ge=0.0, le=1.0)
    citations: list[Citation] = Field(default_factory=list)
    index_version: str | None = None
    answerer: str = Field("extractive", description="'extractive', 'llm' or 'reviewed'.")
    reviewed: bool = Field(False, description="Answered from a reviewed answer of the program's staff.")
    query_used: str = Field("", description="The retrieval query after follow-up resolution.")
    clarify: list[str] = Field(
        default_factory=list,
        description="When the question names no program and several programs' rules compete: their names "
        "(the text asks which one; a next message that names one asks the question again in its rules).",
    )


class DocumentInfo(BaseModel):
    """One document held by an index version."""

    document_id: str
    title: str
    program: str = ""
    program_name: str = ""
    component: str = ""
    component_name: str = ""
    fiscal_year: int | None = None
    source_path: str = ""
    content_hash: str = ""
    chunks: int = 0
    ingested_at: str = ""
    sample: bool = False


class CoreStatus(BaseModel):
    """Whether the core can answer: the index version it holds (none yet = not ready) and its model."""

    ready: bool
    index_version: str | None = None
    embedding_model: str = ""


class IndexInfo(BaseModel):
    """The active index version and the versions kept for rollback."""

    active_version: str | None
    versions: list[dict[str, object]] = Field(default_factory=list)
