"""The web service: FastAPI app factory, OGC API - Features, analysis routes, storage."""
