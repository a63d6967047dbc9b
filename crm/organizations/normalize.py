"""Pure functions that fold what people type into comparable keys (no database, no Flask).

Two records name the same company when their names are equal after folding full-/half-width
forms, case, spaces, punctuation and legal-form suffixes ("青岛海工有限公司" = "青岛海工",
"ACME Co., Ltd." = "Acme"), when they carry the same unified social credit code, or when
their mail addresses share a company domain (never a free-mail one).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

# Legal forms written after the name, Chinese/Japanese/Korean, longest first so that
# "集团股份有限公司" goes in one step rather than leaving "集团股份".
CJK_SUFFIXES = tuple(sorted((
    "集团股份有限公司", "集团有限责任公司", "集团有限公司", "股份有限公司", "有限责任公司",
    "有限公司", "集团公司", "集团", "总公司", "公司", "株式会社", "有限会社", "주식회사",
), key=len, reverse=True))
# Written before the name in Japan and Korea (株式会社トヨタ, 주식회사 한화).
CJK_PREFIXES = ("株式会社", "有限会社", "주식회사")
# Abbreviated legal forms, anywhere in the name (NFKC turns ㈱ and ㈜ into these).
CJK_MARKERS = ("(株)", "(주)", "(有)")
# Latin legal forms, as tokens once dots are dropped and other punctuation is a space.
LATIN_SUFFIXES = frozenset({
    "co", "company", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc",
    "llp", "lp", "plc", "gmbh", "ag", "kg", "se", "sa", "sas", "sarl", "srl", "spa", "bv", "nv",
    "ab", "as", "asa", "oy", "oyj", "pte", "pty", "sdn", "bhd", "tbk", "pt", "jsc", "kk",
    "group", "holding", "holdings",
})
# Mail providers anyone can use: a shared domain there says nothing about the company.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com",
    "yeah.net", "vip.163.com", "sina.com", "sina.cn", "sohu.com", "139.com", "189.cn",
    "aliyun.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com",
    "yahoo.com", "yahoo.co.jp", "naver.com", "daum.net", "hanmail.net", "gmx.de", "gmx.net",
    "web.de", "mail.ru", "yandex.ru", "proton.me", "protonmail.com",
})

_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the 18th is a check.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _fold(text: str) -> str:
    """Full-width → half-width (NFKC: （）→ (), Ａ → A, ideographic space → space), case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _strip_cjk(token: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in CJK_SUFFIXES:
            if token.endswith(suffix) and len(token) > len(suffix):
                token, changed = token[: -len(suffix)], True
                break
        for prefix in CJK_PREFIXES:
            if token.startswith(prefix) and len(token) > len(prefix):
                token, changed = token[len(prefix):], True
                break
    return token


# An import folds each name of its file several times (the file's duplicates, the look-up of
# known organisations, the new records' keys), in its preview and again in its commit.
@lru_cache(maxsize=65536)
def normalize_name(name: str | None) -> str:
    """The key two spellings of one company share; '' for a blank name.

    A name that is nothing but a legal form keeps it, so that "集团" does not become ''.
    """
    if not name:
        return ""
    text = _fold(name)
    for marker in CJK_MARKERS:
        text = text.replace(marker, " ")
    # "Co., Ltd." → "co ltd": dots vanish (S.A. → sa), other punctuation separates words.
    tokens = _PUNCT.sub(" ", text.replace(".", "")).split()
    while len(tokens) > 1:
        last = tokens[-1]
        stripped = _strip_cjk(last)
        if last in LATIN_SUFFIXES or last in CJK_SUFFIXES:
            tokens.pop()
        elif stripped != last:
            tokens[-1] = stripped
        else:
            break
    if len(tokens) > 1 and tokens[0] in CJK_PREFIXES:
        tokens.pop(0)
    key = "".join(tokens)
    return _strip_cjk(key)


def search_key(text: str | None) -> str:
    """What a search box's text is compared with: the name keys' folding (width, case, spaces,
    punctuation) without removing legal forms, so "有限公司" still finds every 有限公司."""
    folded = _fold(text or "")
    for marker in CJK_MARKERS:
        folded = folded.replace(marker, " ")
    return "".join(_PUNCT.sub(" ", folded.replace(".", "")).split())


def normalize_credit_code(code: str | None) -> str | None:
    """Upper case, no spaces or dashes, half-width; None when blank."""
    if not code:
        return None
    cleaned = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", code)).upper()
    return cleaned or None


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def valid_credit_code(code: str | None) -> bool:
    """A unified social credit code whose 18th character matches GB 32100-2015's check."""
    code = normalize_credit_code(code)
    if not code or len(code) != 18 or any(ch not in CREDIT_CODE_ALPHABET for ch in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def email_domain(email: str | None) -> str | None:
    """The company domain of an address; None for free-mail providers or no address."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    return None if not domain or domain in FREE_MAIL_DOMAINS else domain


def website_domain(url: str | None) -> str | None:
    """The host of a website without 'www.', used as the company's mail domain when none is known."""
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    host = host.lower().removeprefix("www.")
    return host if "." in host and host not in FREE_MAIL_DOMAINS else None
