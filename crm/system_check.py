"""Check (and, where allowed, install) the system packages BlueLedger needs.

    python -m crm.system_check            # report; exit 1 when something is missing
    python -m crm.system_check --install  # install missing Debian packages with apt-get
    python -m crm.system_check --browser  # also the headless Chromium the browser tests drive

WeasyPrint needs Pango; without libharfbuzz-subset0 it subsets CJK fonts 5–20× slower; a CJK
font must be present or Chinese text renders as boxes.
"""
from __future__ import annotations

import argparse
import ctypes.util
import os
import shutil
import subprocess
import sys


def _has_library(name: str) -> bool:
    return ctypes.util.find_library(name) is not None


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    return bool(out.strip())


CHECKS = [
    ("Pango (WeasyPrint)", lambda: _has_library("pango-1.0"), ["libpango-1.0-0", "libpangoft2-1.0-0"]),
    ("HarfBuzz subsetting (fast CJK PDFs)", lambda: _has_library("harfbuzz-subset"), ["libharfbuzz-subset0"]),
    ("a CJK font", _has_cjk_font, ["fonts-wqy-microhei", "fontconfig"]),
]
BROWSER = ("headless Chromium (browser tests)", lambda: os.path.exists("/usr/bin/chromium"), ["chromium"])


def missing_packages(browser: bool) -> list[tuple[str, list[str]]]:
    checks = CHECKS + ([BROWSER] if browser else [])
    return [(label, packages) for label, ok, packages in checks if not ok()]


def _apt_prefix() -> list[str] | None:
    if not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args(argv)
    missing = missing_packages(args.browser)
    if not missing:
        return 0
    packages = sorted({p for _, pkgs in missing for p in pkgs})
    for label, _ in missing:
        print(f"missing: {label}")
    prefix = _apt_prefix() if args.install else None
    if prefix is None:
        print("install them with:\n  sudo apt-get update && sudo apt-get install -y " + " ".join(packages))
        return 1
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(prefix + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
    still = missing_packages(args.browser)
    for label, _ in still:
        print(f"still missing after install: {label}")
    return 1 if still else 0


if __name__ == "__main__":
    sys.exit(main())
