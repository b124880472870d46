"""Before serving, the service loads the compiled scoring kernels by scoring a made-up population:
for any scheme, without writing anything."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from socialcredit.scheme import scheme_from_data
from socialcredit.service.core import Service
from socialcredit.service.db import AuditEntry, Event, ScoreRecord, make_engine
from socialcredit.service.migrate import upgrade


@pytest.mark.parametrize("change", ["network", "no events"])
def test_warming_up_scores_any_scheme_and_writes_nothing(scheme_data, tmp_path, change):
    if change == "network":
        scheme_data["network"] = {"weight": 0.3}
    else:
        scheme_data.update(events={}, features={}, components={}, lists={"blacklist": "tier <= 'C'"},
                           entitlements={"loan": {"allow": "not blacklist", "context": "financial"}})
    engine = make_engine(f"sqlite:///{tmp_path / 'warm.db'}")
    upgrade(engine)
    service = Service(engine, scheme_from_data(scheme_data))
    service.warm()
    with engine.connect() as connection:
        for table in (Event, ScoreRecord, AuditEntry):
            assert connection.execute(select(func.count()).select_from(table)).scalar() == 0
