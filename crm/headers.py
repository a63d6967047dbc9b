"""HTTP response headers every page gets: no framing, no sniffing, nothing loaded from outside."""
from werkzeug.middleware.proxy_fix import ProxyFix

# Everything is vendored under static/, so the policy can refuse every other origin. Inline
# styles and scripts stay allowed for small page scripts (charts, polling).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _secure_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def init_app(app) -> None:
    app.after_request(_secure_headers)
    proxies = app.config["PROXY_COUNT"]
    if proxies:
        # Behind a reverse proxy: trust its X-Forwarded-* so redirects, client addresses
        # (login throttle, rate limits) and the Secure cookie flag see the real request.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
