"""Local fakes of external services that speak the real wire protocol (used by the tests only)."""
