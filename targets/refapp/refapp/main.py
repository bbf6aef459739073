"""The app uvicorn serves (``uvicorn refapp.main:app``): the routes bound to this process's settings.

Settings are validated at import so ``uvicorn refapp.main:app`` exits with
code 2 before serving when STORAGE (or another setting) is wrong.
"""

from __future__ import annotations

import logging
import os
import sys

from refapp import pages, routes, shop_routes
from refapp.config import ConfigError, Settings, load_settings
from refapp.modes import build_backend


def _configure_logging() -> None:
    """Send our log lines (fallbacks, flushes) and the pool's to stderr, like uvicorn's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    for name, level in (("refapp", logging.INFO), ("psycopg.pool", logging.WARNING)):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(level)
            logger.propagate = False


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"refapp: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _shop_forms_or_exit() -> shop_routes.ShopForms:
    try:
        return shop_routes.load_forms(os.environ)
    except ConfigError as exc:
        print(f"refapp: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


settings = _settings_or_exit()
shop_forms = _shop_forms_or_exit()
_configure_logging()
_backend = build_backend(settings)
app = routes.bind(settings, _backend)
app.include_router(pages.router)  # the server-rendered front end, under /html
app.include_router(shop_routes.bind(settings, _backend, shop_forms))  # addresses and stock: the app's own rules
