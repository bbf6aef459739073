"""One TLS context for every HTTP client the harness makes.

httpx builds a new SSL context for each client, loading the whole CA bundle: about
45 ms of CPU, most of it under the GIL. Readiness polling makes a client per
replica, so starting 6 replicas spent a quarter of a second on it, one after the
other, before a single poll went out. The context is built once, the way httpx
builds it (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured), and shared; it is never
modified after creation, so sharing it between threads is safe.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built on first use."""
    return httpx.create_ssl_context()
