"""config/scorecard.yaml: the shipped file adds up to 100; mistakes are reported as file:line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gkflow.domain.errors import InvalidConfig
from gkflow.services.scorecard_config import load_scorecard_config
from gkflow.settings import Settings

CONFIG = Path(__file__).resolve().parents[2] / "config"
SHIPPED = (CONFIG / "scorecard.yaml").read_text(encoding="utf-8")


def test_the_shipped_scorecard_weights_and_maxima_add_up_to_100() -> None:
    config = load_scorecard_config(Settings(config_dir=CONFIG))
    assert config.computed_weight + sum(m.max for m in config.manual) == Decimal(100)
    assert [m.label for m in config.manual] == [
        "组织领导",
        "制度建设",
        "平台建设",
        "政策解读",
        "政务舆情监测处置",
        "公众参与",
        "政务服务",
    ]
    assert next(i for i in config.indicators if i.key == "satisfaction").target == Decimal("0.98")
    assert all(i.definition for i in config.indicators)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    weight: 10\n    target: 0.98\n",
            "    weight: 10\n    target: 1.5\n",
            "scorecard.yaml:30: target must be a number from 0.01 to 1, got 1.5",
        ),
        (
            "  statutory_on_time:\n",
            "  statutory_in_time:\n",
            "scorecard.yaml:13: indicators: unknown indicator",
        ),
        (
            "organisation: {label: 组织领导, max: 5}",
            "organisation: {label: 组织领导, max: 6}",
            "scorecard.yaml:11: indicator weights and manual maxima add up to 101, not 100",
        ),
        (
            "    weight: 5\n    lower_is_better: true\n",
            "    weight: 5\n    lower_is_better: true\n    colour: red\n",
            "scorecard.yaml:26: indicator 'overdue_open': unknown key 'colour'",
        ),
    ],
)
def test_each_mistake_names_its_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in SHIPPED
    path = tmp_path / "scorecard.yaml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InvalidConfig) as error:
        load_scorecard_config(Settings(config_dir=tmp_path), path)
    assert any(p.endswith(expected) or expected in p for p in error.value.details["problems"]), (
        error.value.message
    )
