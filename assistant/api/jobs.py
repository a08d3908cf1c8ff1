"""Background ingestion jobs: one at a time, progress reported, status kept on disk."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.errors import CampoError, IngestionBusy

log = logging.getLogger(__name__)


class JobManager:
    def __init__(self, jobs_dir: Path, on_finish: Callable[[str, str], None] | None = None) -> None:
        self.dir = jobs_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._running: str | None = None
        self._jobs: dict[str, dict[str, Any]] = {}
        self._on_finish = on_finish

    def start(self, kind: str, work: Callable[[Callable[[str, int, int], None]], Any]) -> dict[str, Any]:
        """Run ``work(progress)`` in a thread; refuse while another job runs (IngestionBusy)."""
        with self._lock:
            if self._running is not None:
                raise IngestionBusy(f"job {self._running} is running")
            job_id = uuid.uuid4().hex[:12]
            job: dict[str, Any] = {
                "job_id": job_id,
                "kind": kind,
                "status": "queued",
                "progress": {},
                "report": None,
                "error": None,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            self._jobs[job_id] = job
            self._running = job_id
            self._save(job)
        threading.Thread(target=self._run, args=(job, work), name=f"job-{job_id}", daemon=True).start()
        return dict(job)

    def _run(self, job: dict[str, Any], work: Callable[[Callable[[str, int, int], None]], Any]) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            job["progress"] = {"stage": stage, "done": done, "total": total}

        job["status"] = "running"
        self._save(job)
        try:
            result = work(progress)
            job["report"] = result.to_dict() if hasattr(result, "to_dict") else result
            job["status"] = "succeeded"
        except CampoError as exc:
            job["status"], job["error"] = "failed", exc.user_message
        except Exception as exc:
            log.exception("job %s failed", job["job_id"])
            job["status"], job["error"] = "failed", f"Error inesperado: {type(exc).__name__}"
        finally:
            with self._lock:
                self._running = None
            self._save(job)
            if self._on_finish:
                self._on_finish(job["kind"], job["status"])

    def get(self, job_id: str) -> dict[str, Any] | None:
        if job_id in self._jobs:
            return dict(self._jobs[job_id])
        if not job_id.isalnum():
            return None
        path = self.dir / f"{job_id}.json"
        return json.loads(path.read_text("utf-8")) if path.exists() else None

    def _save(self, job: dict[str, Any]) -> None:
        tmp = self.dir / f".{job['job_id']}.tmp"
        tmp.write_text(json.dumps(job, ensure_ascii=False), "utf-8")
        tmp.replace(self.dir / f"{job['job_id']}.json")
