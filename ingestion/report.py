"""The ingestion report: what a run added, updated, kept, removed and refused (see docs/ingestion.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IngestReport:
    version: str | None = None
    switched: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    total_documents: int = 0
    total_chunks: int = 0
    questions: int = 0  # anticipated questions in the new version
    seconds: float = 0.0

    def fail(self, path: str, reason: str) -> None:
        self.failed.append((path, reason))

    @property
    def ok(self) -> bool:
        """False when anything was skipped or failed (the CLI exits non-zero)."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = [{"file": f, "reason": r} for f, r in self.failed]
        data["ok"] = self.ok
        return data

    def summary_line(self) -> str:
        return (
            f"version={self.version} switched={self.switched} added={len(self.added)} "
            f"updated={len(self.updated)} unchanged={len(self.unchanged)} kept={len(self.kept)} "
            f"removed={len(self.removed)} failed={len(self.failed)} embedded={self.chunks_embedded} "
            f"reused={self.chunks_reused} seconds={self.seconds}"
        )

    def format_text(self) -> str:
        """The report for admins, in Spanish."""
        lines = ["Informe de carga de documentos", "=============================="]
        lines.append(f"Documentos agregados:     {len(self.added):>5}  {_names(self.added)}")
        lines.append(f"Documentos actualizados:  {len(self.updated):>5}  {_names(self.updated)}")
        lines.append(f"Documentos sin cambios:   {len(self.unchanged) + len(self.kept):>5}")
        lines.append(f"Documentos eliminados:    {len(self.removed):>5}  {_names(self.removed)}")
        lines.append(f"Archivos con error:       {len(self.failed):>5}")
        for path, reason in self.failed:
            lines.append(f"  - {path}: {reason}")
        lines.append(f"Textos embebidos (nuevos): {self.chunks_embedded}")
        lines.append(f"Fragmentos reutilizados:   {self.chunks_reused}")
        if self.switched:
            lines.append(
                f"Nueva versión activa: {self.version} ({self.total_documents} documentos, "
                f"{self.total_chunks} fragmentos, {self.questions} preguntas previstas)"
            )
        else:
            lines.append(f"Sin cambios en el índice; versión activa: {self.version or 'ninguna'}")
        lines.extend(f"Nota: {n}" for n in self.notes)
        lines.append(f"Tiempo: {self.seconds:.1f} s")
        return "\n".join(lines)


def _names(items: list[str], limit: int = 4) -> str:
    if not items:
        return ""
    shown = ", ".join(items[:limit])
    return f"({shown}{', …' if len(items) > limit else ''})"
