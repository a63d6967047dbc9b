"""Stable codes from DOMAIN.md shown with labels in the user's language."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask_babel import get_locale, lazy_gettext as _l

# (code, 中文, English, position) — seeded; admins may add more in the UI.
DEFAULT_CLUSTERS = [
    ("shipbuilding", "船舶海工", "Shipbuilding & offshore engineering"),
    ("shipping", "航运贸易金融", "Shipping, trade & finance"),
    ("biomedicine", "海洋生物医药", "Marine biomedicine"),
    ("fisheries", "现代渔业", "Modern fisheries & aquaculture"),
    ("cold_chain", "冷链物流", "Cold-chain logistics"),
    ("equipment", "海洋高端装备", "Marine high-end equipment"),
    ("energy", "海洋新能源", "Marine renewable energy"),
    ("tourism", "海洋文旅", "Marine culture & tourism"),
    ("services", "涉海服务", "Marine services"),
    ("other", "其他", "Other"),
]

DEFAULT_UNITS = [
    ("区海洋发展局招商科", "Investment Division, Ocean Development Bureau"),
    ("哈工程青岛船舶科技园", "HEU Qingdao Ship Science Park"),
    ("光谷产业园", "Optics Valley Industrial Park"),
    ("海创小镇", "Marine Innovation Town"),
    ("自贸区青岛片区", "China (Shandong) FTZ Qingdao Area"),
]


def _locale_code() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_CN"


@lru_cache(maxsize=4)
def _territories(locale_code: str) -> dict[str, str]:
    names = Locale.parse(locale_code).territories
    # Two-letter codes only: ISO 3166 alpha-2 (Babel also lists regions such as "001").
    return {code: name for code, name in names.items() if len(code) == 2 and code.isalpha()}


def country_choices() -> list[tuple[str, str]]:
    names = _territories(_locale_code())
    return sorted(names.items(), key=lambda item: item[1])


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _territories(_locale_code()).get(code.upper(), code)


def is_country_code(code: str | None) -> bool:
    return bool(code) and code.upper() in _territories("en")


ROLE_LABELS = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "staff": _l("Investment staff"),
    "organizer": _l("Expo organizer"),
}
