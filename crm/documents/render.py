"""HTML → PDF with WeasyPrint, fenced in.

WeasyPrint is imported lazily (the web process never needs it) and, in workers, once in the
parent process before it forks work horses (`preload`, called from worker.py): importing it costs
about a second, and the first layout loads fonts and fills Pango's caches, which every forked
job then inherits instead of paying for again.

What a document may load is decided here, not by the template: `StaticOnlyFetcher` serves files
under the app's own static/ folder, read from disk, and refuses everything else (other file://
paths, symlinks leading out of static/, http(s), data: …). The rendered document's attachments
are dropped, so a PDF can never carry a file.
"""
from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from crm.config import PROJECT_ROOT

STATIC_ROOT = (PROJECT_ROOT / "static").resolve()
BASE_URL = STATIC_ROOT.as_uri() + "/"
STYLESHEET = STATIC_ROOT / "pdf" / "pdf.css"
TEMPLATES = PROJECT_ROOT / "templates" / "pdf"
CATALOGS = PROJECT_ROOT / "crm" / "documents" / "translations"
CJK_FONT = "WenQuanYi Micro Hei"

# WeasyPrint's advice: share the image cache between documents so an image is read and decoded
# once per process (the bureau's emblem is on every page of every document).
_IMAGE_CACHE: dict = {}


def static_path(url: str) -> Path | None:
    """The file under static/ a URL names, or None when the URL points anywhere else."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(url2pathname(parts.path)).resolve()  # resolve(): no ../ or symlink escapes
    if not path.is_relative_to(STATIC_ROOT) or not path.is_file():
        return None
    return path


@lru_cache(maxsize=1)
def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves the app's static files from disk; anything else raises, which WeasyPrint
        logs as a warning and renders without."""

        def fetch(self, url, headers=None):
            path = static_path(url)
            if path is None:
                raise ValueError(f"refused to load {url[:200]!r}: only the app's static files")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), body=path.read_bytes(),
                                      headers={"Content-Type": content_type})

    return StaticOnlyFetcher()


@lru_cache(maxsize=1)
def _stylesheet():
    """The PDF stylesheet, parsed once per process."""
    from weasyprint import CSS

    return CSS(string=STYLESHEET.read_text(encoding="utf-8"), base_url=BASE_URL,
               url_fetcher=_fetcher())


@lru_cache(maxsize=1)
def template_version() -> str:
    """Digest of everything that shapes a PDF besides its data: templates, CSS, static images,
    translations and the WeasyPrint release. A change here makes every cached PDF stale."""
    from babel.messages.pofile import read_po

    digest = hashlib.sha256(f"weasyprint {version('weasyprint')}".encode())
    files = [*TEMPLATES.rglob("*"), *(STATIC_ROOT / "pdf").rglob("*")]
    for path in sorted(p for p in files if p.is_file()):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    # The messages only: `catalogs extract` rewrites the headers' timestamps every time.
    for path in sorted(CATALOGS.rglob("*.po")):
        with open(path, "rb") as fh:
            messages = sorted((str(m.id), str(m.string)) for m in read_po(fh) if m.id)
        digest.update(repr((str(path.relative_to(PROJECT_ROOT)), messages)).encode())
    return digest.hexdigest()[:16]


def render_pdf(html: str) -> tuple[bytes, int]:
    """The PDF of an HTML string, and its number of pages."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).render(
        stylesheets=[_stylesheet()], cache=_IMAGE_CACHE)
    document.metadata.attachments = []  # briefs carry no files, whatever the HTML says
    return document.write_pdf(), len(document.pages)


WARM_UP_HTML = (
    '<html lang="zh-CN"><body><div class="page-header"><img src="pdf/emblem.svg" alt=""></div>'
    "<h1>预热 Warm-up</h1><p>海洋发展局 蓝色台账 0123456789</p></body></html>"
)


def preload() -> None:
    """Import WeasyPrint and lay out a small Chinese page, so that forked jobs start warm."""
    render_pdf(WARM_UP_HTML)
