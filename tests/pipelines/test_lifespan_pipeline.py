"""The lifespan pipeline's summary keeps p-values that a fixed rounding would turn into 0."""

from __future__ import annotations

from pathlib import Path

from translocus.pipelines.lifespan import LifespanRequest, run_lifespan


def test_summary_keeps_small_p_values(shared_data: Path) -> None:
    data = shared_data / "itp" / "bodyweights" / "ITP_10003.csv"
    output = run_lifespan(LifespanRequest(data=data, arms=("rapa06",), n_boot=0))
    rows = output.summary()["effects"]
    table = output.effects.set_index(["arm", "sex"])
    for row in rows:
        exact = float(table.loc[(row["arm"], row["sex"]), "logrank_p"])
        assert 0 < row["logrank_p"] == exact  # rapa06 females: about 8e-17
    assert min(r["logrank_p"] for r in rows) < 1e-10
