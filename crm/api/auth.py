"""The API authenticates by bearer token only.

Cookies are removed from /api requests before Flask sees them, and Set-Cookie from the answers:
neither the session nor a remember-me cookie can act for a user there, so a page on another site
cannot make a browser call the API with the user's rights (and CSRF tokens are not needed).
Flask-Login then finds no session user and asks `load_user_from_request`, which reads the
`Authorization: Bearer …` header, on /api paths only.
"""
from __future__ import annotations

from crm.api import services

API_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


class WithoutCookies:
    """WSGI middleware: no cookies in or out under /api/."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not is_api_path(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        environ.pop("HTTP_COOKIE", None)

        def start_without_cookies(status, headers, exc_info=None):
            kept = [(name, value) for name, value in headers if name.lower() != "set-cookie"]
            return start_response(status, kept, exc_info)

        return self.wsgi_app(environ, start_without_cookies)


def load_user_from_request(request):
    """Flask-Login's request loader: the user of a valid bearer token, on API paths."""
    if not is_api_path(request.path):
        return None
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return services.user_for_token(raw.strip())
