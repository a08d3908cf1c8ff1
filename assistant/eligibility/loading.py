"""Reading rules files, reporting their errors in Spanish, and checking citations against documents.

``validate_citations`` is what ingestion runs against the documents of a new index version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from assistant.eligibility.marks import units_quoting
from assistant.eligibility.schema import ComponentRules, RuleCitation, RulesFile, iter_citations
from assistant.text import fold


@dataclass(frozen=True)
class RuleFileError:
    """A problem in one rules file; ``reason`` is Spanish, for the ingestion report."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '(archivo)'}: {self.reason}"


_PYDANTIC_REASONS = {
    "missing": "falta este campo",
    "extra_forbidden": "campo no permitido (¿error de escritura?)",
    "string_type": "debe ser texto",
    "int_type": "debe ser un número entero",
    "int_parsing": "debe ser un número entero",
    "int_from_float": "debe ser un número entero",
    "float_type": "debe ser un número",
    "float_parsing": "debe ser un número",
    "bool_type": "debe ser true o false",
    "bool_parsing": "debe ser true o false",
    "list_type": "debe ser una lista",
    "dict_type": "debe ser un objeto (pares «clave: valor»)",
    "model_type": "debe ser un objeto (pares «clave: valor»)",
    "model_attributes_type": "debe ser un objeto (pares «clave: valor»)",
    "too_short": "no puede estar vacío o es demasiado corto",
    "string_pattern_mismatch": "formato no válido",
    "greater_than_equal": "el número es demasiado pequeño",
    "less_than_equal": "el número es demasiado grande",
}


def _errors_from_validation(file: str, exc: ValidationError) -> list[RuleFileError]:
    out: list[RuleFileError] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "value_error":
            reason = str(err["msg"]).removeprefix("Value error, ")
        elif kind == "string_pattern_mismatch" and loc.endswith("section"):
            reason = "debe ser «Artículo N», tal como aparece en el documento"
        else:
            reason = _PYDANTIC_REASONS.get(kind, f"valor no válido ({err['msg']})")
        out.append(RuleFileError(file, loc, reason))
    return out


def load_rules_file(path: Path) -> tuple[ComponentRules | None, list[RuleFileError]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, [RuleFileError(name, "", "no se pudo leer el archivo (¿está en UTF-8?)")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (línea {mark.line + 1})" if mark is not None else ""
        return None, [RuleFileError(name, "", f"YAML mal formado{where}")]
    if not isinstance(data, dict):
        return None, [RuleFileError(name, "", "el archivo debe ser un objeto YAML (pares «clave: valor»)")]
    try:
        rules = ComponentRules.model_validate(data)
    except ValidationError as exc:
        return None, _errors_from_validation(name, exc)
    if path.stem != rules.component:
        return None, [RuleFileError(name, "component", f"el archivo debe llamarse «{rules.component}.yaml»")]
    rules._file = name
    return rules, []


def load_rules_dir(path: Path) -> tuple[list[ComponentRules], list[RuleFileError]]:
    """Every valid ``*.yaml`` in ``path``; broken files are reported and left out, the rest load."""
    path = Path(path)
    if not path.is_dir():
        return [], [RuleFileError(str(path), "", "no existe la carpeta de reglas de elegibilidad")]
    loaded: list[ComponentRules] = []
    errors: list[RuleFileError] = []
    seen: dict[str, str] = {}
    for file in sorted([*path.glob("*.yaml"), *path.glob("*.yml")]):
        rules, file_errors = load_rules_file(file)
        errors.extend(file_errors)
        if rules is None:
            continue
        if rules.component in seen:
            errors.append(
                RuleFileError(
                    file.name, "component", f"componente repetido; ya está en {seen[rules.component]}"
                )
            )
            continue
        seen[rules.component] = file.name
        loaded.append(rules)
    return loaded, errors


_SQUASH = re.compile(r"[\s*_|]+")


def normalized(text: str) -> str:
    """Text as quotes are compared: folded, Markdown emphasis and table pipes dropped, spaces squashed."""
    return _SQUASH.sub(" ", fold(text)).strip()


def article_text(document: str, section: str) -> str | None:
    """The text of 'Artículo N' (from its heading to the next article), or None if not found."""
    match = re.fullmatch(r"Artículo (\d+)", section)
    if match is None:
        return None
    start = re.search(rf"(?m)^[\W_]*Art[íi]culo\s+{match.group(1)}\s*\.", document)
    if start is None:
        return None
    end = re.compile(r"(?m)^[\W_]*Art[íi]culo\s+\d+\s*\.").search(document, start.end())
    return document[start.start() : end.start() if end else len(document)]


def rules_file_name(rules: RulesFile) -> str:
    return rules.file if isinstance(rules, ComponentRules) and rules.file else f"{rules.component}.yaml"


def iter_flagged(rules: RulesFile) -> Iterator[tuple[str, bool, RuleCitation]]:
    """Every citation of a part that carries an ``illustrative`` flag, with the flag."""
    yield "who_may_apply.citation", rules.who_may_apply.illustrative, rules.who_may_apply.citation
    for name in ("conditions", "exclusions", "priorities"):
        for i, item in enumerate(getattr(rules, name)):
            yield f"{name}.{i}.citation", item.illustrative, item.citation
    yield "support.citation", rules.support.illustrative, rules.support.citation


def _flag_errors(file: str, rules: RulesFile, documents: Mapping[str, str]) -> list[RuleFileError]:
    """A part is flagged illustrative exactly when the sentence its quote comes from is marked."""
    errors: list[RuleFileError] = []
    for where, flagged, citation in iter_flagged(rules):
        text = documents.get(citation.document_id)
        if not citation.quote or text is None:
            continue
        scope = article_text(text, citation.section) or text
        quoted = units_quoting(scope, citation.quote)
        if quoted is None:
            continue  # reported as a missing quote
        marked = any(unit.marked for unit in quoted)
        if marked and not flagged:
            reason = (
                "la frase citada está marcada como ilustrativa en el documento: marque «illustrative: true» "
                "y dígalo en el texto"
            )
            errors.append(RuleFileError(file, where, reason))
        elif flagged and not marked:
            reason = (
                "la regla está marcada como ilustrativa pero la frase citada no lo dice: márquela en el "
                "documento o quite «illustrative»"
            )
            errors.append(RuleFileError(file, where, reason))
    return errors


def validate_citations(rules: Sequence[RulesFile], documents: Mapping[str, str]) -> list[RuleFileError]:
    """Check each citation against ``documents`` (document_id -> full text): the document exists,
    the cited 'Artículo N' appears in it, the quote (if given) appears inside that article, and a
    part is flagged ``illustrative`` exactly when the sentence it quotes is marked illustrative."""
    errors: list[RuleFileError] = []
    for item in rules:
        file = rules_file_name(item)
        errors += _flag_errors(file, item, documents)
        for where, citation in iter_citations(item):
            text = documents.get(citation.document_id)
            if text is None:
                errors.append(
                    RuleFileError(file, where, f"el documento «{citation.document_id}» no está en el corpus")
                )
                continue
            if not re.search(re.escape(citation.section) + r"(?!\d)", text):
                errors.append(
                    RuleFileError(
                        file,
                        where,
                        f"«{citation.section}» no aparece en el documento «{citation.document_id}»",
                    )
                )
                continue
            if citation.quote:
                scope = article_text(text, citation.section) or text
                if normalized(citation.quote) not in normalized(scope):
                    errors.append(
                        RuleFileError(
                            file,
                            where + ".quote",
                            f"la cita no aparece en el {citation.section} de «{citation.document_id}»",
                        )
                    )
    return errors


def drop_invalid(rules: Sequence[ComponentRules], errors: Sequence[RuleFileError]) -> list[ComponentRules]:
    """The rules whose file has no reported error (e.g. after validate_citations)."""
    bad = {e.file for e in errors}
    return [r for r in rules if r.file not in bad]


def export_rules(rules: Sequence[RulesFile], dest: Path) -> list[Path]:
    """Write each component as ``dest/<component>.yaml`` (e.g. into a new index version)."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for item in rules:
        data = item.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
        data = {"component": item.component, **data}
        path = dest / f"{item.component}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
