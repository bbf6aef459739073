"""The WSGI entry point gunicorn serves: ``gunicorn shop.wsgi:app``."""

from shop.app import create_app

app = create_app()
