"""'¿Qué es X?' when one document's glossary defines X: that entry answers, not an article whose words
(or anticipated questions) name X more often (ranking.VersionFeatures.definer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from ingestion.pipeline import build_records_version
from tests.conftest import make_settings

GLOSSARY = (
    "Capítulo I > Artículo 2",
    "Artículo 2. Glosario. Para efectos de estas reglas se entenderá por:\n"
    "I. Beca: apoyo económico que recibe el participante mientras toma un curso;\n"
    "II. OSNE: Oficina del Servicio Nacional de Empleo en cada entidad, donde se registran los solicitantes;\n"
    "III. Jornalero: persona que trabaja en el campo por un pago diario.",
)
# An article that names the OSNE four times, and shares more words with "q es la osne q me dijeron".
OFFICES = (
    "Capítulo IV > Artículo 20",
    "Artículo 20. Atención en la OSNE. La OSNE es la que me dijeron que atiende: la OSNE registra a los "
    "jornaleros, la OSNE les explica el programa y les dice que es lo que sigue.",
)


def _record(document_id: str, chunks: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "title": f"Reglas de prueba {document_id}",
        "short_title": "Reglas 2016",
        "program": "stps",
        "component": "pae",
        "fiscal_year": 2016,
        "chunks": chunks,
    }


def _assistant(tmp_path: Path, records: list[dict[str, Any]]) -> Assistant:
    settings = make_settings(tmp_path)
    flat = [
        dict({k: v for k, v in doc.items() if k != "chunks"}, section=section, text=text, part=i)
        for doc in records
        for i, (section, text) in enumerate(doc["chunks"])
    ]
    lexicon = (Path(__file__).resolve().parent.parent / "corpus" / "lexicon.yaml").read_text("utf-8")
    build_records_version(settings, flat, HashingEmbeddings(), lexicon=lexicon)
    return Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())


def test_the_glossary_entry_answers_what_a_term_is(tmp_path: Path) -> None:
    assistant = _assistant(tmp_path, [_record("empleo-a-2016", [GLOSSARY, OFFICES])])
    version = assistant.versions.current()
    asked = "q es la osne q me dijeron"
    vf = assistant._features(version)
    query = assistant.analyze(version, asked)
    assert query.definition_term == "osne"
    retrieved = assistant.retriever.retrieve(version, query.search_text, k=5, query_vector=query.vector).hits
    # without the rule the article that names the OSNE most comes first (the test would not show it)
    assert version.chunks[retrieved[0].row]["section"].endswith("Artículo 20")
    _, retrieval, hits = assistant._find(version, asked, 5, None)
    assert version.chunks[hits[0].row]["section"].endswith("Artículo 2") and hits[0].defines is not None
    # the retrieval's own order (its first is the evidence score's) is left as it was
    assert version.chunks[retrieval.hits[0].row]["section"].endswith("Artículo 20")
    assert vf.definer(query, retrieved, version.sentences_of_chunk) is not None

    answer = assistant.ask(asked)
    assert not answer.abstained
    assert answer.citations[0].section.endswith("Artículo 2")
    assert "II. OSNE: Oficina del Servicio Nacional de Empleo" in answer.text
    assert "Jornalero" not in answer.text  # the entry alone, not the whole glossary


def test_two_glossaries_that_define_the_term_leave_it_to_the_ranking(tmp_path: Path) -> None:
    other = (
        "Capítulo I > Artículo 3",
        "Artículo 3. Glosario. Para efectos de estos lineamientos se entenderá por:\n"
        "I. OSNE: oficina estatal del empleo;\nII. Curso: capacitación de hasta tres meses.",
    )
    assistant = _assistant(
        tmp_path, [_record("empleo-a-2016", [GLOSSARY, OFFICES]), _record("empleo-b-2016", [other])]
    )
    version = assistant.versions.current()
    query, _, hits = assistant._find(version, "q es la osne", 5, None)
    assert query.definition_term == "osne"
    assert all(h.defines is None for h in hits)
    assert assistant._features(version).definer(query, hits, version.sentences_of_chunk) is None


def test_a_question_that_is_not_a_definition_is_ranked_as_before(tmp_path: Path) -> None:
    assistant = _assistant(tmp_path, [_record("empleo-a-2016", [GLOSSARY, OFFICES])])
    version = assistant.versions.current()
    query, _, hits = assistant._find(version, "pa q es la osne, q hace", 5, None)  # what for, not what
    assert query.definition_term == ""
    assert all(h.defines is None for h in hits)
