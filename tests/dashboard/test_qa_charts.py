"""History's charts as a reader sees their axes."""

from __future__ import annotations

import pandas as pd

from dashboard.charts import long_bouts_chart


def test_long_bouts_are_counted_in_whole_numbers() -> None:
    # Weeks without a long bout drew one tick labelled "0.000000", and few bouts drew
    # ticks at 0.5.
    daily = pd.DataFrame({"date": pd.to_datetime(["2026-11-20", "2026-11-21"]),
                          "sitting_bouts_30min": [0, 0], "sitting_bouts_60min": [0, 0]})
    for layer in long_bouts_chart(daily).to_dict()["layer"]:
        axis = layer["encoding"]["y"]["axis"]
        assert axis["format"] == "d" and axis["tickMinStep"] == 1
