"""'¿De cuál programa me pregunta?': when a question names no program and several programs' rules
compete for it, the producer is asked which one, instead of a bare 'no lo encontré'.

"¿puedo pedir apoyo si tengo 3 hectareas?" is answered differently by each program's rules. When the
answer model is not sure enough to answer and the candidates come from two or more programs, the
abstention names those programs; when the producer's next message names one of them (a tap, "cadenas de
valor", "el de extensionismo"), the first question is asked again with that component as a filter.
"""

from __future__ import annotations

from assistant.lexicon import Lexicon
from assistant.normalize import fold
from assistant.query import Query
from assistant.retrieval import Hit
from assistant.versions import IndexVersion

MAX_PROGRAMS = 4
RULE_TYPES = ("reglas", "lineamientos")  # documents of one program (guides and presentations are not)


def _rule_documents(version: IndexVersion) -> list[dict[str, str]]:
    return [
        {"id": str(d["document_id"]), "component": str(d.get("component") or ""), "name": _name(d)}
        for d in version.manifest.get("documents", [])
        if d.get("doc_type", "reglas") in RULE_TYPES
    ]


def _name(doc: dict[str, object]) -> str:
    return str(doc.get("component_name") or doc.get("title") or "")


def picked_program(
    version: IndexVersion, reply: str, offered: list[str], lexicon: Lexicon
) -> tuple[str, str] | None:
    """(component, name) of the program the producer chose among ``offered`` (program names) by
    tapping or writing its name ("Cadenas de Valor", "el de extensionismo"), or None."""
    components = {d["name"]: d["component"] for d in _rule_documents(version) if d["component"]}
    said = fold(reply).strip(" ¿?¡!.,")
    for name in offered:
        if name in components and said and (fold(name) in said or (len(said) >= 4 and said in fold(name))):
            return components[name], name
    named = lexicon.programs_in(lexicon.normalize(reply))
    return next(((components[n], n) for n in offered if components.get(n) in named), None)


def programs_to_ask(version: IndexVersion, query: Query, hits: list[Hit], floor: float) -> list[str]:
    """The programs whose rules compete for a question that names none (best first), or [] when the
    question names a program, or fewer than two programs have a candidate the ranker gives ``floor``."""
    if query.programs:
        return []
    names = {d["id"]: d["name"] for d in _rule_documents(version)}
    found: list[str] = []
    for hit in sorted(hits, key=lambda h: -h.rank_score):
        if hit.rank_score < floor:
            break
        name = names.get(version.chunks[hit.row]["document_id"], "")
        if name and name not in found:
            found.append(name)
    return found[:MAX_PROGRAMS] if len(found) >= 2 else []


def clarification_text(programs: list[str], budget: int) -> str:
    """'No encontré una respuesta segura… ¿De cuál me pregunta? A; B.' within ``budget`` ('' when
    two names do not fit)."""
    head = "No encontré una respuesta segura: las reglas de varios programas hablan de algo parecido. ¿De cuál me pregunta? "
    tail = " Escríbame el nombre del programa."
    listed: list[str] = []
    for name in programs:
        if len(head) + len("; ".join([*listed, name])) + 1 + len(tail) > budget:
            break
        listed.append(name)
    return f"{head}{'; '.join(listed)}.{tail}" if len(listed) >= 2 else ""
