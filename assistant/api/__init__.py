"""The HTTP adapter (FastAPI) over the core: see ``create_app``."""
