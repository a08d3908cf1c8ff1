"""Speech to text through an OpenAI-compatible /v1/audio/transcriptions endpoint."""

from __future__ import annotations

import logging

import httpx

from assistant.settings import Settings

log = logging.getLogger(__name__)


async def transcribe(settings: Settings, audio: bytes) -> str:
    """The transcribed text, or '' on any failure."""
    url = settings.asr_base_url.rstrip("/") + "/audio/transcriptions"
    headers = {}
    key = settings.asr_api_key.get_secret_value()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        async with httpx.AsyncClient(timeout=settings.asr_timeout_seconds) as client:
            response = await client.post(
                url,
                headers=headers,
                data={"model": settings.asr_model, "language": "es"},
                files={"file": ("nota.oga", audio, "audio/ogg")},
            )
            response.raise_for_status()
            return str(response.json().get("text", "")).strip()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("transcription failed: %s", type(exc).__name__)
        return ""
