"""A producer who answers the guided eligibility check: the same fisherman in the tests and the
generated transcripts (button labels or list rows, or what he types)."""

from __future__ import annotations

# A 47-year-old fisherman with a permit, a boat and an RNPA-registered cooperative.
FISHERMAN: dict[str, str] = {
    "tipo_solicitante": "Yo, como persona física",
    "actividad": "Pesca",
    "edad": "47",
    "recibio_apoyo_previo": "No",
    "hectareas": "0",
    "unidades_animal": "0",
    "anios_actividad": "como 13 años",
    "es_servidor_publico": "No",
    "unidad_economica_rnpa": "Sí",
    "tiene_permiso_pesca": "Sí",
    "sancionado_veda": "No",
    "tiene_embarcacion_menor": "Sí",
    "trabaja_como_jornalero": "No",
    "municipio_cruzada": "No sé",
    "es_comunidad_indigena": "No",
    "habitantes_localidad": "3000",
    "metros_traspatio": "10",
}
