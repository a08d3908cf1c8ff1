"""The composition root: the `campo` command and the evaluations, wiring the core, ingestion and adapters."""
