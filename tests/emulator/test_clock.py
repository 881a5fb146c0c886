"""The emulator's clock: tests freeze and move it through the control API instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.support.emulator_api import Gql, set_clock

CURRENT = "{ rounds(tournament: 8, number: 0) { openTime closeStakingTime closeTime } }"
ADD = "mutation($n: String!) { addModel(name: $n, tournament: 8) { insertedAt } }"


def _epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def test_a_frozen_clock_answers_the_same_until_moved(api: Gql, emulator: Any) -> None:
    frozen = set_clock(emulator.url, freeze=True)
    assert frozen["frozen"] is True
    first = api.data(CURRENT, auth=False)["rounds"][0]
    assert api.data(CURRENT, auth=False)["rounds"][0] == first
    moved = set_clock(emulator.url, advance_s=7200)
    assert moved["now"] == frozen["now"] + 7200 and moved["frozen"] is True
    later = api.data(CURRENT, auth=False)["rounds"][0]
    assert later["openTime"] == first["openTime"]  # the open round's deadlines follow the clock
    assert _epoch(later["closeStakingTime"]) - _epoch(first["closeStakingTime"]) == 7200


def test_records_are_stamped_with_the_emulators_time(api: Gql, emulator: Any) -> None:
    set_clock(emulator.url, freeze=True, at=1_900_000_000)
    assert api.data(ADD, {"n": "stamped"})["addModel"]["insertedAt"] == "2030-03-17T17:46:40Z"
    assert emulator.state()["clock"] == {"now": 1_900_000_000, "frozen": True, "offset_s": 0.0}


def test_a_running_clock_keeps_its_jump_and_reset_goes_back_to_the_wall_clock(api: Gql, emulator: Any) -> None:
    running = set_clock(emulator.url, freeze=False, advance_s=86_400)
    assert running["frozen"] is False and running["offset_s"] == pytest.approx(86_400, abs=5)
    emulator.reset()
    assert emulator.state()["clock"]["offset_s"] == 0 and emulator.state()["clock"]["frozen"] is False


@pytest.mark.parametrize(("body", "problem"), [
    ({"freeze": "yes"}, "freeze must be true or false"),
    ({"at": -1}, "at must be epoch seconds >= 0"),
    ({"advance_s": "1h"}, "advance_s must be a number"),
    ({"speed": 2}, "unknown clock setting"),
])
def test_bad_clock_settings_are_refused(emulator: Any, body: dict[str, Any], problem: str) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/clock", json=body)
    assert response.status_code == 400 and problem in response.json()["error"]
    assert emulator.state()["clock"]["frozen"] is False
