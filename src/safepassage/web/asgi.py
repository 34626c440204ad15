"""The application for an ASGI server running several worker processes (``safepassage serve
--workers N``): each worker builds its own system from the settings in its environment."""

from __future__ import annotations

from fastapi import FastAPI

from safepassage.bootstrap import build
from safepassage.config import load_settings
from safepassage.web.app import app_to_serve


def app_from_environment() -> FastAPI:
    return app_to_serve(build(load_settings()))
