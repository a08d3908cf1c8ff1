"""Errors that reach users carry a Spanish ``user_message``; logs use the English ``str()``."""

from __future__ import annotations


class CampoError(Exception):
    """Base error. ``user_message`` is plain Spanish for producers and staff."""

    user_message = "Ocurrió un error inesperado. Intente de nuevo en unos minutos."
    code = "error"

    def __init__(self, message: str = "", *, user_message: str | None = None) -> None:
        super().__init__(message or self.__class__.__name__)
        if user_message is not None:
            self.user_message = user_message


class QuestionTooLong(CampoError):
    code = "question_too_long"
    user_message = "La pregunta es demasiado larga. Escríbala en pocas palabras, por favor."


class EmptyQuestion(CampoError):
    code = "empty_question"
    user_message = "No recibí ninguna pregunta. Escriba lo que quiere saber sobre los programas."


class IndexNotReady(CampoError):
    code = "index_not_ready"
    user_message = (
        "Todavía no hay documentos cargados en el índice. Un administrador debe ejecutar `campo ingest`."
    )


class IndexUnavailable(IndexNotReady):
    """An index version exists but its vector store (a Chroma server) cannot be reached."""

    code = "index_unavailable"
    user_message = (
        "No puedo consultar los documentos en este momento: no hay conexión con la base de vectores "
        "(Chroma). Intente de nuevo en unos minutos; si sigue así, avise al administrador."
    )


class IngestionBusy(CampoError):
    code = "ingestion_busy"
    user_message = "Ya hay una carga de documentos en curso. Espere a que termine e intente de nuevo."


class VersionNotFound(CampoError):
    code = "version_not_found"
    user_message = "No existe esa versión del índice (o ya fue eliminada)."


class ConfigurationError(CampoError):
    code = "configuration_error"
    user_message = "La configuración del servicio está incompleta."
