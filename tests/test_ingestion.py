"""Ingestion end to end: versions, reuse, edits, removals, bad files, the lock, rollback, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.errors import IngestionBusy
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from assistant.store import list_collections, make_client
from assistant.versions import complete_versions, read_active, read_manifest
from ingestion.pipeline import ingest
from ingestion.publish import ingestion_lock, rollback
from tests.conftest import make_settings

DOC_A = """---
id: reglas-a-2014
title: Reglas A 2014 (muestra)
short_title: Reglas A 2014
program: pidr
component: cadenas-valor
fiscal_year: 2014
---
# Capítulo I. Disposiciones generales

**Artículo 1.** Objeto. Estas reglas de muestra regulan el apoyo a cadenas de valor.

# Capítulo II. Requisitos

**Artículo 2.** Requisitos. Los solicitantes deberán presentar:

I. Identificación oficial vigente;
II. Clave Única de Registro de Población;
III. Comprobante de domicilio.

**Artículo 3.** Superficie. La superficie máxima es de 20 hectáreas (cifra ilustrativa).
"""

DOC_B = """---
id: pesca-b-2014
title: Lineamientos de pesca B 2014 (muestra)
short_title: Lineamientos de Pesca 2014
program: pesca
component: propesca
fiscal_year: 2014
---
# Capítulo I. Apoyo a pescadores

**Artículo 1.** Monto. El apoyo es de 8,000 pesos por pescador.

**Artículo 2.** Ventanilla. La ventanilla cierra el 31 de marzo.
"""


def write_corpus(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "reglas-a.md").write_text(DOC_A, "utf-8")
    (corpus / "pesca-b.md").write_text(DOC_B, "utf-8")


@pytest.fixture
def corpus_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    write_corpus(settings.corpus_dir)
    return settings


def chunk_ids(settings: Settings) -> list[str]:
    version = read_active(settings.index_dir)
    assert version
    root = settings.index_dir / "versions" / version
    return [json.loads(line)["chunk_id"] for line in (root / "chunks.jsonl").read_text("utf-8").splitlines()]


def test_first_run_then_nothing_to_embed(corpus_settings: Settings) -> None:
    first = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert first.ok and first.switched
    assert sorted(first.added) == ["pesca-b-2014", "reglas-a-2014"]
    assert first.chunks_embedded > 0
    manifest = read_manifest(corpus_settings.index_dir, first.version or "")
    sections = [c for c in chunk_ids(corpus_settings)]
    assert len(sections) == manifest["chunks"]
    second = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert second.ok and not second.switched
    assert second.chunks_embedded == 0
    assert sorted(second.unchanged) == ["pesca-b-2014", "reglas-a-2014"]
    assert second.version == first.version
    assert "Sin cambios" in second.format_text()


def test_editing_one_document_embeds_only_its_changed_text(corpus_settings: Settings) -> None:
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    path = corpus_settings.corpus_dir / "pesca-b.md"
    path.write_text(DOC_B.replace("31 de marzo", "15 de abril"), "utf-8")
    report = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert report.updated == ["pesca-b-2014"] and report.unchanged == ["reglas-a-2014"]
    # One changed chunk (and its one changed sentence) are embedded; nothing else.
    assert 1 <= report.chunks_embedded <= 3
    assert report.chunks_reused > 0
    assistant = Assistant(corpus_settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assert "15 de abril" in assistant.ask("hasta cuando cierra la ventanilla de pesca").text


def test_removed_file_leaves_no_stale_chunks(corpus_settings: Settings) -> None:
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    (corpus_settings.corpus_dir / "pesca-b.md").unlink()
    report = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert report.removed == ["pesca-b-2014"]
    ids = chunk_ids(corpus_settings)
    assert ids and not any(i.startswith("pesca-b-2014:") for i in ids)
    assert len(ids) == len(set(ids))
    collection = f"campo-{read_active(corpus_settings.index_dir)}"
    assert make_client(corpus_settings).get_collection(collection).count() == len(ids)


def test_single_file_is_added_without_dropping_the_rest(corpus_settings: Settings, tmp_path: Path) -> None:
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    extra = tmp_path / "extra.md"
    extra.write_text(DOC_B.replace("pesca-b-2014", "pesca-extra-2015").replace("2014", "2015"), "utf-8")
    report = ingest(corpus_settings, [extra], embeddings=HashingEmbeddings())
    assert report.added == ["pesca-extra-2015"]
    assert sorted(report.kept) == ["pesca-b-2014", "reglas-a-2014"]


def test_bad_files_are_reported_and_skipped(corpus_settings: Settings) -> None:
    corpus = corpus_settings.corpus_dir
    (corpus / "roto.pdf").write_bytes(b"%PDF-1.4 esto no es un pdf de verdad")
    (corpus / "vacio.md").write_text("", "utf-8")
    (corpus / "hoja.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    report = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert not report.ok
    failed = {Path(f).name: reason for f, reason in report.failed}
    assert set(failed) == {"roto.pdf", "vacio.md", "hoja.xls"}
    assert "no soportado" in failed["hoja.xls"]
    assert sorted(report.added) == ["pesca-b-2014", "reglas-a-2014"]
    assert all(not i.startswith(("roto", "vacio", "hoja")) for i in chunk_ids(corpus_settings))


def test_second_ingestion_is_refused_while_one_runs(corpus_settings: Settings) -> None:
    with ingestion_lock(corpus_settings), pytest.raises(IngestionBusy) as exc:
        ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert "en curso" in exc.value.user_message


def test_rollback_and_garbage_collection(corpus_settings: Settings) -> None:
    corpus_settings = corpus_settings.model_copy(update={"keep_versions": 2})
    first = ingest(corpus_settings, embeddings=HashingEmbeddings()).version
    path = corpus_settings.corpus_dir / "pesca-b.md"
    versions = [first]
    for day in ("1", "2", "3"):
        path.write_text(DOC_B.replace("31 de marzo", f"{day} de abril"), "utf-8")
        versions.append(ingest(corpus_settings, embeddings=HashingEmbeddings()).version)
    kept = complete_versions(corpus_settings.index_dir)
    assert kept == versions[-2:]
    assert sorted(list_collections(make_client(corpus_settings))) == sorted(f"campo-{v}" for v in kept)
    assert rollback(corpus_settings) == versions[-2]
    assert read_active(corpus_settings.index_dir) == versions[-2]


SLOW_INGEST = textwrap.dedent(
    """
    import sys, time
    from assistant.embeddings import HashingEmbeddings
    from ingestion.pipeline import ingest
    from tests.conftest import make_settings
    from pathlib import Path

    point = sys.argv[2]

    class Slow(HashingEmbeddings):
        def _embed(self, texts, is_query):
            if point == "embedding":
                print("embedding", flush=True)
                time.sleep(0.5)
            return super()._embed(texts, is_query)

    def progress(stage, done, total):
        # "leyendo …" while loading files; "índice escrito" after the version folder is complete and
        # before the ACTIVE pointer is switched.
        if (point == "loading" and stage.startswith("leyendo")) or (
            point == "swap" and stage == "índice escrito"
        ):
            print(point, flush=True)
            time.sleep(30)

    settings = make_settings(Path(sys.argv[1]))
    ingest(settings, embeddings=Slow(), progress=progress)
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("point", ["loading", "embedding", "swap"])
def test_sigkill_during_ingestion_keeps_the_previous_version(
    corpus_settings: Settings, tmp_path: Path, point: str
) -> None:
    before = ingest(corpus_settings, embeddings=HashingEmbeddings()).version
    expected_docs = 2
    for i in range(3):
        (corpus_settings.corpus_dir / f"nuevo-{i}.md").write_text(
            DOC_B.replace("pesca-b-2014", f"nuevo-{i}").replace("8,000", f"{i + 1},000"), "utf-8"
        )
    expected_docs += 3
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_INGEST, str(tmp_path), point],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == point  # it is in the middle of that step
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert read_active(corpus_settings.index_dir) == before
    assistant = Assistant(corpus_settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    answer = assistant.ask("cuanto es el apoyo por pescador")
    assert answer.index_version == before and "8,000" in answer.text
    # The next run completes: exactly the expected documents, no duplicates, no orphans.
    report = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert report.ok and report.switched
    manifest = read_manifest(corpus_settings.index_dir, report.version or "")
    assert len(manifest["documents"]) == expected_docs
    ids = chunk_ids(corpus_settings)
    assert len(ids) == len(set(ids)) == manifest["chunks"]
    assert not list((corpus_settings.index_dir / "versions").glob(".*.partial"))
    collections = list_collections(make_client(corpus_settings))
    assert all(c[len("campo-") :] in complete_versions(corpus_settings.index_dir) for c in collections)
    assert f"campo-{report.version}" in collections


def test_cli_ingest_exit_status_and_status(corpus_settings: Settings) -> None:
    (corpus_settings.corpus_dir / "hoja.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(corpus_settings.data_dir),
        "CAMPO_CORPUS_DIR": str(corpus_settings.corpus_dir),
        "CAMPO_EMBEDDINGS": "fake",
    }
    cli = [sys.executable, "-m", "campo.cli"]
    run = subprocess.run([*cli, "ingest", "--quiet"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "hoja.xls" in run.stdout and "formato no soportado" in run.stdout
    status = subprocess.run([*cli, "index", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0
    assert "reglas-a-2014" in status.stdout and "Versión activa" in status.stdout


def test_cli_ask_and_chat_on_the_index(corpus_settings: Settings) -> None:
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(corpus_settings.data_dir),
        "CAMPO_CORPUS_DIR": str(corpus_settings.corpus_dir),
        "CAMPO_EMBEDDINGS": "fake",
        "CAMPO_ABSTAIN_THRESHOLD": "0.005",
        "CAMPO_SESSION_BACKEND": "memory",
    }
    cli = [sys.executable, "-m", "campo.cli"]
    ask = subprocess.run(
        [*cli, "ask", "cuanto es el apoyo por pescador"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ask.returncode == 0, ask.stderr
    assert "8,000 pesos" in ask.stdout and "Fuentes:" in ask.stdout and "pesca-b-2014" in ask.stdout
    chat = subprocess.run(
        [*cli, "chat"],
        input="requisitos que deben presentar los solicitantes\n¿y si soy pescador?\n/fuente\n/nueva\n/salir\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0, chat.stderr
    assert "Identificación oficial vigente" in chat.stdout
    assert "Lineamientos de Pesca 2014" in chat.stdout  # the follow-up found the fishing rules
    assert "Listo, empecemos de nuevo." in chat.stdout
