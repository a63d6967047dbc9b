"""Translation catalogs, one per feature, so that features grow without touching each other's.

Each catalog lives in `crm/<feature>/translations/` (the core one in `crm/translations/`) and
covers that feature's Python code and templates. Flask-Babel merges them all at run time.

    python -m crm.catalogs extract   # refresh every .pot and merge new strings into the .po files
    python -m crm.catalogs compile   # build the .mo files (done by `make run` and `make test`)
    python -m crm.catalogs check     # list strings without a Chinese translation; exit 1 if any
    python -m crm.catalogs fill F.json  # set Chinese translations from {"English": "中文"}
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
CRM = ROOT / "crm"
TEMPLATES = ROOT / "templates"
LOCALES = ("zh_Hans_CN", "en")
CORE_PACKAGES = ("accounts", "audit", "reference", "main")
CORE_TEMPLATE_DIRS = ("macros", "errors", "accounts", "audit", "reference", "main")
# Template folders a feature owns besides templates/<feature>/.
EXTRA_TEMPLATE_DIRS = {"documents": ("pdf",), "reminders": ("email",)}


def catalog_dirs() -> list[Path]:
    return [CRM / "translations"] + sorted(p for p in CRM.glob("*/translations") if p.is_dir())


def _sources(catalog: Path) -> list[Path]:
    if catalog == CRM / "translations":
        paths = [p for p in CRM.glob("*.py")] + [CRM / name for name in CORE_PACKAGES]
        paths += [TEMPLATES / "base.html"] + [TEMPLATES / name for name in CORE_TEMPLATE_DIRS]
    else:
        feature = catalog.parent.name
        paths = [catalog.parent, TEMPLATES / feature]
        paths += [TEMPLATES / extra for extra in EXTRA_TEMPLATE_DIRS.get(feature, ())]
    return [p for p in paths if p.exists()]


def _pybabel(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(done.returncode)


def _extract_to(catalog: Path, pot: Path) -> None:
    sources = [str(p.relative_to(ROOT)) for p in _sources(catalog)]
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--omit-header",
             "-o", str(pot), *sources)


def _ids(path: Path) -> set[str]:
    with open(path, "rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def not_in_catalogs() -> dict[str, list[str]]:
    """Strings in the code that `extract` has not yet brought into the catalogs."""
    missing = {}
    packages = [p for p in CRM.iterdir() if (p / "__init__.py").exists()
                and p.name not in CORE_PACKAGES and p.name != "translations"]
    expected = set(catalog_dirs()) | {p / "translations" for p in packages}
    with tempfile.TemporaryDirectory() as tmp:
        for catalog in sorted(expected):
            pot = Path(tmp) / "messages.pot"
            _extract_to(catalog, pot)
            po = catalog / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
            gaps = sorted(_ids(pot) - _ids(po)) if po.exists() else sorted(_ids(pot))
            if gaps:
                missing[str(catalog.relative_to(ROOT))] = gaps
    return missing


def extract() -> None:
    for catalog in catalog_dirs():
        pot = catalog / "messages.pot"
        _extract_to(catalog, pot)
        for locale in LOCALES:
            po = catalog / locale / "LC_MESSAGES" / "messages.po"
            command = "update" if po.exists() else "init"
            extra = ["-N"] if command == "update" else []
            _pybabel(command, *extra, "-i", str(pot), "-d", str(catalog), "-l", locale)


def compile_all() -> None:
    for catalog in catalog_dirs():
        _pybabel("compile", "-d", str(catalog))


def untranslated() -> dict[str, list[str]]:
    """Chinese is the first language: every string must have a zh_CN translation."""
    missing = {}
    for catalog in catalog_dirs():
        po = catalog / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
        with open(po, "rb") as fh:
            messages = read_po(fh)
        gaps = [m.id for m in messages if m.id and (not m.string or m.fuzzy)]
        if gaps:
            missing[str(po.relative_to(ROOT))] = gaps
    return missing


def fill(translations: dict[str, str]) -> None:
    for catalog in catalog_dirs():
        po = catalog / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
        with open(po, "rb") as fh:
            messages = read_po(fh, locale="zh_Hans_CN")
        for message in messages:
            if message.id in translations:
                message.string = translations[message.id]
                message.flags.discard("fuzzy")
        with open(po, "wb") as fh:
            write_po(fh, messages, width=100, omit_header=False)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        extract()
    elif command == "compile":
        compile_all()
    elif command == "fill":
        with open(argv[1], encoding="utf-8") as fh:
            fill(json.load(fh))
    missing = untranslated()
    for path, ids in missing.items():
        print(f"{path}: {len(ids)} untranslated: {ids[:10]}")
    return 1 if (command == "check" and missing) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
