"""`campo` console commands: a thin adapter over the core and ingestion (messages in Spanish)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from assistant.errors import CampoError
from assistant.settings import Settings, get_settings

log = logging.getLogger("campo")


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "chromadb", "bm25s", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _print_answer(answer: Any, show_sources: bool = True) -> None:
    print(answer.text)
    if show_sources and answer.citations:
        print("\nFuentes:")
        for c in answer.citations:
            where = ", ".join(x for x in (c.section, f"p. {c.page}" if c.page else "") if x)
            print(f"  📄 {c.title}{' — ' + where if where else ''} [{c.document_id}]")


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ingestion.pipeline import ingest

    bar: tqdm[Any] | None = None

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, unit="doc", file=sys.stderr, leave=False)
        bar.set_description(stage[:40])
        bar.n = done
        bar.refresh()

    paths = [Path(p) for p in args.paths] or None
    report = ingest(settings, paths, progress=None if args.quiet else progress)
    if bar is not None:
        bar.close()
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) if args.json else report.format_text())
    return 0 if report.ok else 2


def cmd_index(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.versions import complete_versions, read_active, read_history, read_manifest

    index_dir = settings.index_dir
    if args.index_command == "rollback":
        from ingestion.publish import rollback

        target = rollback(settings, args.version)
        print(f"Versión activa ahora: {target}")
        return 0
    if args.index_command == "remove":
        from ingestion.pipeline import remove_documents

        report = remove_documents(settings, args.document_ids)
        print(report.format_text())
        return 0 if report.ok else 2
    active = read_active(index_dir)
    if active is None:
        print("No hay ningún índice activo. Ejecute: campo ingest")
        return 1
    manifest = read_manifest(index_dir, active)
    if args.json:
        print(
            json.dumps({"active": active, "manifest": manifest, "history": read_history(index_dir)}, indent=1)
        )
        return 0
    print(f"Versión activa: {active} (creada {manifest['created_at']}, modelo {manifest['embedding_model']})")
    print(f"Documentos: {len(manifest['documents'])}, fragmentos: {manifest['chunks']}")
    for d in manifest["documents"]:
        year = d.get("fiscal_year") or "—"
        print(
            f"  - {d['document_id']:<40} {year!s:>5}  {d.get('chunks', 0):>4} fragmentos  {d['title'][:60]}"
        )
    others = [v for v in complete_versions(index_dir) if v != active]
    if others:
        print("Versiones disponibles para rollback: " + ", ".join(reversed(others)))
    return 0


def _make_assistant(settings: Settings) -> Any:
    from assistant.core import Assistant

    return Assistant(settings)


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.models import Filters

    assistant = _make_assistant(settings)
    filters = Filters(program=args.program, fiscal_year=args.year, document_id=args.document)
    answer = assistant.ask(" ".join(args.question), filters=filters, max_chars=args.max_chars)
    if args.json:
        print(answer.model_dump_json(indent=1))
    else:
        _print_answer(answer)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    assistant = _make_assistant(settings)
    session = f"console-{uuid.uuid4().hex[:12]}"
    print("Campo — pregunte sobre las reglas de los programas. Escriba /nueva para empezar de nuevo,")
    print("/fuente para ver el texto completo de la última fuente, /mal si la respuesta no le sirvió")
    print("(la revisa el personal del programa) y /salir para terminar.")
    last, asked = None, ""
    while True:
        try:
            line = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line in ("/salir", "/exit", "/quit"):
            return 0
        if line == "/nueva":
            assistant.forget(session)
            print("Listo, empecemos de nuevo.")
            continue
        if line == "/fuente":
            print(
                last.citations[0].text
                if last and last.citations
                else "Todavía no hay una fuente que mostrar."
            )
            continue
        if line == "/mal":
            if last is not None:
                assistant.review.downvoted(asked, last.text, "cli", [c.model_dump() for c in last.citations])
                print("Gracias: la pregunta pasa a revisión del personal del programa.")
            continue
        try:
            last, asked = assistant.ask(line, session_id=session), line
        except CampoError as exc:
            print(exc.user_message)
            continue
        assistant.review.observe(line, last, "cli")
        _print_answer(last)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    _check_llm(settings)
    _ensure_index(settings)
    if args.workers > 1:
        uvicorn.run("campo.server:app_from_env", factory=True, host=host, port=port, workers=args.workers)
    else:
        from campo.server import create_server_app

        uvicorn.run(create_server_app(settings), host=host, port=port)
    return 0


def _check_llm(settings: Settings) -> None:
    """Bad LLM settings stop the start-up with a clear message (before a first ingestion, and before
    workers that would each fail on their own)."""
    from assistant.llm import check_llm_settings

    check_llm_settings(settings)


def _ensure_index(settings: Settings) -> None:
    from assistant.versions import read_active

    if read_active(settings.index_dir) is None:
        print("No hay índice todavía: cargando el corpus por primera vez…", file=sys.stderr)
        from ingestion.pipeline import ingest

        print(ingest(settings).format_text(), file=sys.stderr)


def cmd_bot(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.telegram_bot_token.get_secret_value():
        print(
            "Falta el token del bot. Créelo con @BotFather en Telegram y defina TELEGRAM_BOT_TOKEN "
            "(vea README, sección Telegram).",
            file=sys.stderr,
        )
        return 2
    from bot.app import run_bot

    _check_llm(settings)
    _ensure_index(settings)
    return int(run_bot(settings))


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from campo import evaluation

    if args.eval_command == "xquad":
        path = Path(args.path)
        if not path.exists():
            print(f"No encuentro el archivo de XQuAD: {path}", file=sys.stderr)
            return 1
        result = evaluation.run_xquad(
            path, settings, max_chars=args.max_chars, log=lambda m: print(m, file=sys.stderr)
        )
    elif args.eval_command == "domain":
        from campo.domain_eval import SETS, run_domain

        folder, parts = SETS[args.set]
        split = args.split or parts[-1]
        if split not in (*parts, "all"):
            print(
                f"El conjunto {args.set!r} se divide en {' y '.join(parts)} (o all), no en {split!r}.",
                file=sys.stderr,
            )
            return 2
        assistant = _make_assistant(settings)
        result = run_domain(assistant, split=split, max_chars=args.max_chars, folder=folder)
        if not args.verbose:
            result["failures"] = result["failures"][:5]
    else:
        assistant = _make_assistant(settings)
        result = evaluation.run_sample_questions(assistant, Path(args.path))
        if not args.verbose:
            result["failures"] = result["failures"][:5]
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    return 0


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.feedback import export_feedback

    count = export_feedback(settings, args.output)
    print(f"Exportados {count} registros.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campo", description="Asistente sobre reglas de programas rurales.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="cargar documentos en una nueva versión del índice")
    p.add_argument("paths", nargs="*", help="archivos o carpetas (por omisión, el corpus)")
    p.add_argument("--json", action="store_true", help="informe en JSON")
    p.add_argument("--quiet", action="store_true", help="sin barra de progreso")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("index", help="estado, rollback o retiro de documentos del índice")
    isub = p.add_subparsers(dest="index_command", required=True)
    s = isub.add_parser("status", help="versión activa y sus documentos")
    s.add_argument("--json", action="store_true")
    s = isub.add_parser("rollback", help="volver a la versión anterior (o a --version)")
    s.add_argument("--version", default=None)
    s = isub.add_parser("remove", help="quitar documentos del índice por id")
    s.add_argument("document_ids", nargs="+")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="hacer una pregunta")
    p.add_argument("question", nargs="+")
    p.add_argument("--program")
    p.add_argument("--year", type=int)
    p.add_argument("--document")
    p.add_argument("--max-chars", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="conversación en la terminal")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="servicio HTTP")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("bot", help="bot de Telegram")
    p.set_defaults(func=cmd_bot)

    p = sub.add_parser("eval", help="evaluaciones (XQuAD-es dev, preguntas de productores, de muestra)")
    esub = p.add_subparsers(dest="eval_command", required=True)
    s = esub.add_parser("xquad")
    s.add_argument("--path", default=str(Path("..") / "shared" / "data" / "xquad-es" / "xquad.es.json"))
    s.add_argument("--max-chars", type=int, default=300)
    s.add_argument("--output")
    s = esub.add_parser("domain", help="preguntas de productores sobre el corpus (tests/data/domain/)")
    s.add_argument(
        "--set",
        choices=["main", "fresh"],
        default="main",
        help="main: tests/data/domain (tune/test por artículo); fresh: tests/data/domain_fresh (dev/hold)",
    )
    s.add_argument(
        "--split",
        choices=["test", "tune", "dev", "hold", "all"],
        help="parte a medir (por omisión la que no se ajusta: test o hold)",
    )
    s.add_argument("--max-chars", type=int, default=450, help="presupuesto de la respuesta (Telegram: 450)")
    s.add_argument("--output")
    s.add_argument("--verbose", action="store_true")
    s = esub.add_parser("samples")
    s.add_argument("--path", default="tests/data/sample_questions.yaml")
    s.add_argument("--output")
    s.add_argument("--verbose", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("feedback", help="opiniones de usuarios")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    s = fsub.add_parser("export", help="exportar a CSV")
    s.add_argument("--output", default="-", help="archivo CSV (por omisión, la salida estándar)")
    p.set_defaults(func=cmd_feedback)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except Exception as exc:
        print(f"Configuración inválida: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    try:
        return int(args.func(settings, args))
    except CampoError as exc:
        log.info("command failed: %s", exc)
        print(exc.user_message, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
