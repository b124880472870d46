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
def test_warming_up_scores_any_scheme_and_writes_nothing(scheme_data, tmp_path, change, closed_after):
    if change == "network":
        scheme_data["network"] = {"weight": 0.3}
    else:
        scheme_data.update(events={}, features={}, components={}, lists={"blacklist": "tier <= 'C'"},
                           entitlements={"loan": {"allow": "not blacklist", "context": "financial"}})
    engine = make_engine(f"sqlite:///{tmp_path / 'warm.db'}")
    upgrade(engine)
    service = closed_after(Service(engine, scheme_from_data(scheme_data)))
    service.warm()
    with engine.connect() as connection:
        for table in (Event, ScoreRecord, AuditEntry):
            assert connection.execute(select(func.count()).select_from(table)).scalar() == 0


LOADED_AFTER_WARM_AND_FIRST_REQUESTS = r"""
import json, sys
import numba
from socialcredit.scheme import scheme_from_data
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import make_engine
from socialcredit.service.migrate import upgrade
import socialcredit.scoring.compiled, socialcredit.scoring.kernels

def loaded():
    modules = (socialcredit.scoring.kernels, socialcredit.scoring.compiled)
    return sorted(f"{m.__name__}.{name}" for m in modules for name, f in vars(m).items()
                  if isinstance(f, numba.core.registry.CPUDispatcher) and f.signatures)

scheme_data, db, warm = json.loads(sys.argv[1])
engine = make_engine(f"sqlite:///{db}")
upgrade(engine)
service = Service(engine, scheme_from_data(scheme_data))
if warm:
    service.warm()
after_warm = loaded()
pandas_after_warm = "pandas" in sys.modules
actor = Actor("t", "admin")
service.ingest([{"id": f"e{i}", "subject": f"s{i}", "kind": "late_payment", "time": "2026-01-01"}
                for i in range(5000)], actor)
service.record("s1", actor)
print(json.dumps([after_warm, pandas_after_warm, loaded()]))
"""


@pytest.mark.slow
def test_after_warming_up_the_first_ingest_and_read_load_no_kernel(scheme_data, tmp_path):
    # In a fresh process: kernels already loaded by other tests here would hide a warm-up that does nothing.
    import json
    import subprocess
    import sys

    scheme_data["network"] = {"weight": 0.3}  # the most kernels: the network term's too

    def run(warm: bool) -> list:
        db = tmp_path / f"{warm}.db"
        out = subprocess.run([sys.executable, "-c", LOADED_AFTER_WARM_AND_FIRST_REQUESTS,
                              json.dumps([scheme_data, str(db), warm])], check=True, capture_output=True, text=True)
        return json.loads(out.stdout.splitlines()[-1])

    after_warm, pandas_loaded, after_requests = run(warm=True)
    assert after_warm, "warming up loads the compiled kernels"
    assert pandas_loaded, "warming up loads pandas, which reading times sent as text needs"
    assert set(after_requests) == set(after_warm), "the first requests load no kernel the warm-up left out"
    # Without the warm-up, the same requests do load kernels: the check above can fail.
    cold_after_warm, cold_pandas_loaded, cold_after_requests = run(warm=False)
    assert not cold_after_warm and not cold_pandas_loaded and set(cold_after_requests) - set(cold_after_warm)
