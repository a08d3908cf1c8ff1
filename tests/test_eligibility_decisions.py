"""Verdicts as a decision table per rules file, written from the article text of the sample documents
(not from the engine's output), boundaries included. Each row: a change to a base profile that the
article makes elegible, and the verdict and article a reader of that article expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.eligibility import UNKNOWN, EligibilityService, load_rules_dir

ROOT = Path(__file__).resolve().parents[1]

E, P, N, F = "elegible", "posiblemente_elegible", "no_elegible", "falta_informacion"


@pytest.fixture(scope="module")
def service() -> EligibilityService:
    rules, errors = load_rules_dir(ROOT / "corpus" / "eligibility")
    assert errors == []
    return EligibilityService(rules)


# Reglas de Operación 2014, Cadenas de Valor. Art. 5: organizaciones (o grupos que se constituyan),
# cadena agropecuaria, pesquera o acuícola, mínimo de 10 integrantes. Art. 6: mayores de 18 años;
# "superficie máxima de 20 hectáreas de riego o de 40 hectáreas de temporal, o con un hato máximo de
# 35 unidades animal; quien tenga tierra y ganado debe cumplir los dos límites"; nada del mismo concepto
# "en los tres ejercicios fiscales anteriores"; sin convenios sin finiquito. Art. 7: nada de otros
# programas para lo mismo. Art. 14: "un folio activo ... por ejercicio fiscal".
CADENAS = {
    "tipo_solicitante": "persona_moral",
    "actividad": "agricola",
    "numero_integrantes": 12,
    "edad": 25,
    "hectareas": 15,
    "unidades_animal": 0,
    "recibio_apoyo_previo": "no",
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
}
# Lineamientos 2014, CEIP, Art. 5: productores de las UER (E1 a E3, se confirma en la ventanilla) "que
# cuenten con una superficie de hasta 10 hectáreas o con un hato de hasta 10 unidades animal"; quien
# tenga tierra y ganado cumple los dos límites.
CEIP = {"tipo_solicitante": "persona_fisica", "hectareas": 3, "unidades_animal": 0}
# Lineamientos 2014, OSC. Art. 5: al menos dos años de constituida, objeto social rural, CLUNI vigente.
# Art. 8: sin directivos servidores públicos, sin convenios sin finiquito, sin otro programa para lo
# mismo. Art. 10: "un solo proyecto por ejercicio fiscal".
OSC = {
    "tipo_solicitante": "osc",
    "recibio_apoyo_previo": "no",
    "anios_constitucion": 5,
    "objeto_social_rural": True,
    "tiene_cluni": True,
    "es_servidor_publico": False,
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
}
# Lineamientos 2014, PROPESCA. Art. 5: pescadores (no acuicultores), de 18 años o más, de una unidad
# económica inscrita en el RNPA. Art. 7: permiso vigente, pescador activo "desde hace al menos dos
# años". Art. 8: "un solo apoyo de PROPESCA por ejercicio fiscal", no servidores públicos, no
# sancionados por pescar en veda.
PESCADOR = {
    "tipo_solicitante": "persona_fisica",
    "actividad": "pesquera",
    "edad": 35,
    "unidad_economica_rnpa": True,
    "tiene_permiso_pesca": True,
    "anios_actividad": 10,
    "recibio_apoyo_previo": "no",
    "es_servidor_publico": False,
    "sancionado_veda": False,
    "tiene_embarcacion_menor": True,
}
# Reglas de Operación 2014, PROIN. Art. 1: población indígena. Art. 5: mayores de edad, en grupos,
# sociedades o empresas, actividades productivas; localidad con 40% o más (se confirma en la visita).
# Art. 6: grupos de al menos 5 integrantes. Art. 17 y 18: sin otro programa, sin finiquito pendiente.
GRUPO = {
    "tipo_solicitante": "grupo",
    "actividad": "artesanal",
    "es_comunidad_indigena": True,
    "edad": 30,
    "numero_integrantes": 6,
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
}
# Reglas de Operación 2014, Traspatio. Art. 4: hogares en pobreza alimentaria (se confirma con el
# cuestionario), localidades de hasta 15,000 habitantes; la Cruzada da preferencia, no es requisito.
# Art. 5: al menos 20 metros cuadrados de traspatio. Art. 6: un paquete por hogar en el ejercicio y
# nada "en los dos años anteriores".
HOGAR = {
    "tipo_solicitante": "persona_fisica",
    "habitantes_localidad": 5000,
    "metros_traspatio": 30,
    "recibio_apoyo_previo": "no",
}
# Reglas de Operación 2016, PAE. Art. 6: jornaleros agrícolas de 20 a 69 años con secundaria como
# máximo (Movilidad Laboral). Art. 5: 16 años o más; Art. 9: iniciativas de una a cinco personas.
JORNALERO = {
    "tipo_solicitante": "persona_fisica",
    "trabaja_como_jornalero": True,
    "edad": 30,
    "escolaridad": "primaria",
}
AUTOEMPLEO = {"tipo_solicitante": "persona_fisica", "edad": 30}

# component, base, change, expected status, article of the deciding reason (None: not checked)
TABLE: list[tuple[str, dict[str, Any], dict[str, Any], str, str | None]] = [
    # --- Cadenas de Valor
    ("cadenas-valor", CADENAS, {}, E, None),
    ("cadenas-valor", CADENAS, {"hectareas": 20}, E, None),  # exactly 20 ha: riego or temporal
    ("cadenas-valor", CADENAS, {"hectareas": 21, "tipo_superficie": "riego"}, N, "Artículo 6"),
    ("cadenas-valor", CADENAS, {"hectareas": 21}, F, "Artículo 6"),  # de riego o de temporal?
    ("cadenas-valor", CADENAS, {"hectareas": 21, "tipo_superficie": "temporal"}, E, None),
    ("cadenas-valor", CADENAS, {"hectareas": 40, "tipo_superficie": "temporal"}, E, None),
    ("cadenas-valor", CADENAS, {"hectareas": 41, "tipo_superficie": "temporal"}, N, "Artículo 6"),
    ("cadenas-valor", CADENAS, {"hectareas": 20, "unidades_animal": 35}, E, None),
    ("cadenas-valor", CADENAS, {"hectareas": 20, "unidades_animal": 36}, N, "Artículo 6"),
    ("cadenas-valor", CADENAS, {"hectareas": 20, "unidades_animal": 40}, N, "Artículo 6"),
    (
        "cadenas-valor",
        CADENAS,
        {"hectareas": 500, "tipo_superficie": "riego", "unidades_animal": 10},
        N,
        "Artículo 6",
    ),
    ("cadenas-valor", CADENAS, {"unidades_animal": None}, F, "Artículo 6"),  # the herd cap applies too
    ("cadenas-valor", CADENAS, {"actividad": "pesquera", "hectareas": 0}, E, None),
    ("cadenas-valor", CADENAS, {"recibio_apoyo_previo": "este_anio"}, N, "Artículo 14"),
    ("cadenas-valor", CADENAS, {"recibio_apoyo_previo": "hace_1_2"}, N, "Artículo 6"),  # last year
    ("cadenas-valor", CADENAS, {"recibio_apoyo_previo": "hace_3"}, N, "Artículo 6"),
    ("cadenas-valor", CADENAS, {"recibio_apoyo_previo": "hace_mas"}, E, None),
    ("cadenas-valor", CADENAS, {"numero_integrantes": 10}, E, None),
    ("cadenas-valor", CADENAS, {"numero_integrantes": 9}, N, "Artículo 5"),
    ("cadenas-valor", CADENAS, {"edad": 17}, N, "Artículo 6"),
    ("cadenas-valor", CADENAS, {"tipo_solicitante": "grupo"}, E, None),
    ("cadenas-valor", CADENAS, {"tipo_solicitante": "persona_fisica"}, N, "Artículo 5"),
    ("cadenas-valor", CADENAS, {"actividad": "artesanal"}, N, "Artículo 5"),
    ("cadenas-valor", CADENAS, {"convenio_sin_finiquito": True}, N, "Artículo 6"),
    ("cadenas-valor", CADENAS, {"otro_programa_mismo_proyecto": True}, N, "Artículo 7"),
    # --- CEIP (the stratum is confirmed at the ventanilla: at best "posiblemente")
    ("ceip", CEIP, {}, P, "Artículo 5"),
    ("ceip", CEIP, {"hectareas": 10}, P, None),
    ("ceip", CEIP, {"hectareas": 11}, N, "Artículo 5"),
    ("ceip", CEIP, {"hectareas": 0, "unidades_animal": 10}, P, None),
    ("ceip", CEIP, {"hectareas": 0, "unidades_animal": 11}, N, "Artículo 5"),
    ("ceip", CEIP, {"hectareas": 10, "unidades_animal": 10}, P, None),
    ("ceip", CEIP, {"hectareas": 5, "unidades_animal": 20}, N, "Artículo 5"),  # small land, big herd
    ("ceip", CEIP, {"hectareas": 300, "unidades_animal": 5}, N, "Artículo 5"),  # big land, small herd
    ("ceip", CEIP, {"hectareas": 0}, N, "Artículo 5"),  # neither land nor herd
    ("ceip", CEIP, {"unidades_animal": None}, F, "Artículo 5"),
    ("ceip", CEIP, {"tipo_solicitante": "persona_moral"}, N, "Artículo 5"),
    # --- OSC
    ("osc", OSC, {}, E, None),
    ("osc", OSC, {"anios_constitucion": 2}, E, None),
    ("osc", OSC, {"anios_constitucion": 1}, N, "Artículo 5"),
    ("osc", OSC, {"tiene_cluni": False}, N, "Artículo 5"),
    ("osc", OSC, {"objeto_social_rural": False}, N, "Artículo 5"),
    ("osc", OSC, {"es_servidor_publico": True}, N, "Artículo 8"),
    ("osc", OSC, {"convenio_sin_finiquito": True}, N, "Artículo 8"),
    ("osc", OSC, {"recibio_apoyo_previo": "este_anio"}, N, "Artículo 10"),
    ("osc", OSC, {"recibio_apoyo_previo": "hace_1_2"}, E, None),
    ("osc", OSC, {"tiene_cluni": None}, F, "Artículo 5"),
    ("osc", OSC, {"tipo_solicitante": "persona_moral"}, N, "Artículo 5"),
    # --- PROPESCA
    ("propesca", PESCADOR, {}, E, None),
    ("propesca", PESCADOR, {"edad": 18}, E, None),
    ("propesca", PESCADOR, {"edad": 17}, N, "Artículo 5"),
    ("propesca", PESCADOR, {"anios_actividad": 2}, E, None),
    ("propesca", PESCADOR, {"anios_actividad": 1}, N, "Artículo 7"),
    ("propesca", PESCADOR, {"unidad_economica_rnpa": False}, N, "Artículo 5"),
    ("propesca", PESCADOR, {"unidad_economica_rnpa": UNKNOWN}, P, "Artículo 5"),
    ("propesca", PESCADOR, {"tiene_permiso_pesca": False}, N, "Artículo 7"),
    ("propesca", PESCADOR, {"recibio_apoyo_previo": "este_anio"}, N, "Artículo 8"),
    ("propesca", PESCADOR, {"recibio_apoyo_previo": "hace_1_2"}, E, None),  # last year: a new year
    ("propesca", PESCADOR, {"recibio_apoyo_previo": "hace_3"}, E, None),
    ("propesca", PESCADOR, {"es_servidor_publico": True}, N, "Artículo 8"),
    ("propesca", PESCADOR, {"sancionado_veda": True}, N, "Artículo 8"),
    ("propesca", PESCADOR, {"actividad": "acuicola"}, N, "Artículo 5"),
    ("propesca", PESCADOR, {"tiene_permiso_pesca": None}, F, "Artículo 7"),
    # --- Sustitución de motores (motor and state call are confirmed at the ventanilla)
    ("sustitucion-motores", PESCADOR, {}, P, "Artículo 11"),
    ("sustitucion-motores", PESCADOR, {"tiene_embarcacion_menor": False}, N, "Artículo 11"),
    ("sustitucion-motores", PESCADOR, {"actividad": "agricola"}, N, "Artículo 11"),
    ("sustitucion-motores", PESCADOR, {"tiene_embarcacion_menor": None}, F, "Artículo 11"),
    # --- PROIN (the locality is confirmed in the validation visit)
    ("proin", GRUPO, {}, P, "Artículo 5"),
    ("proin", GRUPO, {"numero_integrantes": 5}, P, None),
    ("proin", GRUPO, {"numero_integrantes": 4}, N, "Artículo 6"),
    ("proin", GRUPO, {"tipo_solicitante": "persona_moral", "numero_integrantes": None}, P, None),
    ("proin", GRUPO, {"es_comunidad_indigena": False}, N, "Artículo 1"),
    ("proin", GRUPO, {"edad": 17}, N, "Artículo 5"),
    ("proin", GRUPO, {"actividad": "otra"}, N, "Artículo 5"),
    ("proin", GRUPO, {"tipo_solicitante": "persona_fisica"}, N, "Artículo 5"),
    ("proin", GRUPO, {"otro_programa_mismo_proyecto": True}, N, "Artículo 17"),
    ("proin", GRUPO, {"convenio_sin_finiquito": True}, N, "Artículo 18"),
    ("proin", GRUPO, {"es_comunidad_indigena": None}, F, "Artículo 1"),
    # --- Traspatio (food poverty is confirmed with the questionnaire)
    ("traspatio", HOGAR, {}, P, "Artículo 4"),
    ("traspatio", HOGAR, {"metros_traspatio": 20}, P, None),
    ("traspatio", HOGAR, {"metros_traspatio": 19}, N, "Artículo 5"),
    ("traspatio", HOGAR, {"habitantes_localidad": 15000}, P, None),
    ("traspatio", HOGAR, {"habitantes_localidad": 15001}, N, "Artículo 4"),
    ("traspatio", HOGAR, {"habitantes_localidad": UNKNOWN}, P, None),
    ("traspatio", HOGAR, {"municipio_cruzada": False}, P, None),  # outside the Cruzada: not ruled out
    ("traspatio", HOGAR, {"recibio_apoyo_previo": "este_anio"}, N, "Artículo 6"),
    ("traspatio", HOGAR, {"recibio_apoyo_previo": "hace_1_2"}, N, "Artículo 6"),  # last year
    ("traspatio", HOGAR, {"recibio_apoyo_previo": "hace_3"}, P, None),
    ("traspatio", HOGAR, {"metros_traspatio": None}, F, "Artículo 5"),
    # --- PAE, Movilidad Laboral
    ("pae-movilidad-laboral", JORNALERO, {}, E, None),
    ("pae-movilidad-laboral", JORNALERO, {"edad": 20}, E, None),
    ("pae-movilidad-laboral", JORNALERO, {"edad": 19}, N, "Artículo 6"),
    ("pae-movilidad-laboral", JORNALERO, {"edad": 69}, E, None),
    ("pae-movilidad-laboral", JORNALERO, {"edad": 70}, N, "Artículo 6"),
    ("pae-movilidad-laboral", JORNALERO, {"escolaridad": "secundaria"}, E, None),
    ("pae-movilidad-laboral", JORNALERO, {"escolaridad": "preparatoria"}, N, "Artículo 6"),
    ("pae-movilidad-laboral", JORNALERO, {"trabaja_como_jornalero": False}, N, "Artículo 6"),
    ("pae-movilidad-laboral", JORNALERO, {"tipo_solicitante": "grupo"}, N, "Artículo 6"),
    ("pae-movilidad-laboral", JORNALERO, {"escolaridad": None}, F, "Artículo 6"),
    # --- PAE, Fomento al Autoempleo (viability is judged in the interview)
    ("pae-fomento-autoempleo", AUTOEMPLEO, {}, P, "Artículo 9"),
    ("pae-fomento-autoempleo", AUTOEMPLEO, {"edad": 16}, P, None),
    ("pae-fomento-autoempleo", AUTOEMPLEO, {"edad": 15}, N, "Artículo 5"),
    ("pae-fomento-autoempleo", AUTOEMPLEO, {"tipo_solicitante": "grupo", "numero_integrantes": 5}, P, None),
    (
        "pae-fomento-autoempleo",
        AUTOEMPLEO,
        {"tipo_solicitante": "grupo", "numero_integrantes": 6},
        N,
        "Artículo 9",
    ),
    ("pae-fomento-autoempleo", AUTOEMPLEO, {"tipo_solicitante": "grupo"}, F, "Artículo 9"),
]


def _label(row: tuple[str, dict[str, Any], dict[str, Any], str, str | None]) -> str:
    component, _, change, status, _ = row
    shown = ",".join(f"{k}={v}" for k, v in change.items()) or "base"
    return f"{component}:{shown}->{status}"


@pytest.mark.parametrize(("component", "base", "change", "status", "article"), TABLE, ids=map(_label, TABLE))
def test_decision_table(
    service: EligibilityService,
    component: str,
    base: dict[str, Any],
    change: dict[str, Any],
    status: str,
    article: str | None,
) -> None:
    facts = {k: v for k, v in {**base, **change}.items() if v is not None}
    result = next(r for r in service.evaluate(facts).results if r.component == component)
    assert result.status == status, [r.text for r in result.reasons]
    if article is not None:
        assert result.summary.citation.section == article, result.summary
    if status == N:
        assert result.required_documents == [] and result.missing_facts == []
    if status == F:
        assert result.missing_facts and result.summary.text.startswith("Falta saber:")


def test_every_rules_file_has_rows_for_every_verdict_it_can_give() -> None:
    rules, _ = load_rules_dir(ROOT / "corpus" / "eligibility")
    seen: dict[str, set[str]] = {}
    for component, _, _, status, _ in TABLE:
        seen.setdefault(component, set()).add(status)
    for item in rules:
        positive = P if any(c.verify_at_ventanilla for c in item.conditions) else E
        assert {positive, N, F} <= seen[item.component], item.component
