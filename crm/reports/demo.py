"""Demo targets and stage probabilities (idempotent: years and probabilities already set stay)."""
from __future__ import annotations

from decimal import Decimal

from crm.reports.services import seed_stage_probabilities, seed_targets

# 2021 is the bureau's plan (DOMAIN.md: 50 new ≥1亿 projects, 15 starting construction,
# 15 entering production; no investment target). The 2020 targets are not in the report:
# illustrative values for the demo, said so in the note.
DEMO_TARGETS = {
    2020: {"new_projects": 55, "new_investment_wan": Decimal("12000000"), "started": 12,
           "producing": 10, "note": "演示数据 / demo values"},
    2021: {"new_projects": 50, "new_investment_wan": None, "started": 15, "producing": 15,
           "note": "2021年工作计划"},
}
DEMO_PROBABILITIES = {
    "identified": Decimal("5"), "contacted": Decimal("10"), "negotiating": Decimal("30"),
    "intention": Decimal("60"), "signed": Decimal("90"), "registered": Decimal("100"),
    "started": Decimal("100"), "producing": Decimal("100"),
}


def seed_demo() -> None:
    seed_targets(DEMO_TARGETS)
    seed_stage_probabilities(DEMO_PROBABILITIES)
