"""The web page over the API: a router of HTML pages and the static files it needs."""

from service.web.routes import STATIC_PATH, router, static_files

__all__ = ["STATIC_PATH", "router", "static_files"]
