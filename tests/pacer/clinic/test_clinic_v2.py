"""The clinic's patient page on version 2 summaries (issue 17, items 1 and 2):
the daily and weekly summaries a real replay stored (``pacer replay
--store``: a posture day with an hour of sitting inferred, a step-only day),
received as the collector receives them (``records.parse`` into
``Database.store``), next to a version 1 patient's days, which still show.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO
from helpers.browser import screenshot_dir
from helpers.clinic import day_summary, encode
from helpers.daemon import pacer_cli
from helpers.v2_history import POSTURE_DAY, STEP_DAY, two_days_of_minutes
from PIL import Image
from starlette.testclient import TestClient

from pacer.clinic import auth
from pacer.clinic.config import load_clinic_config
from pacer.clinic.db import Database
from pacer.clinic.records import parse
from pacer.clinic.views import mostly_inferred, waking_day, walks_nudges
from pacer.clinic.web import create_app
from pacer.report.example.screenshot import LAPTOP, PHONE, chromium, dump_dom, screenshot
from pacer.store import Store

NAME, PASSWORD = "jo.physio", "correct horse battery"
SHOTS = screenshot_dir(REPO / "pacer" / "clinic"
                       / "screenshots")


@pytest.fixture(scope="module")
def bodies(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    """(period, body) of every summary a two-day v2 replay stored for eva."""
    folder = tmp_path_factory.mktemp("replay")
    store = folder / "pacer.sqlite3"
    cfg = folder / "eva.toml"
    cfg.write_text('[user]\nid = "eva"\ntimezone = "Australia/Sydney"\n\n'
                   f'[storage]\npath = "{store}"\n', encoding="utf-8")
    events = folder / "events.jsonl"
    events.write_text(json.dumps({"time": f"{POSTURE_DAY}T07:55:00+11:00", "type": "day",
                                  "event": "up"}) + "\n" + json.dumps(
        {"time": f"{POSTURE_DAY}T18:00:00+11:00", "type": "exercise", "minutes": 20}) + "\n",
        encoding="utf-8")
    proc = pacer_cli("replay", "--input", str(two_days_of_minutes(folder / "m.csv")), "--events",
                     str(events), "--config", str(cfg), "--store", str(store))
    assert proc.returncode == 0, proc.stderr
    with Store.open(store) as s:
        return [(p, b) for p in ("day", "week") for b in s.summaries("eva", p)]


@pytest.fixture
def client(tmp_path: Path, bodies: list[tuple[str, dict[str, Any]]]) -> Iterator[TestClient]:
    (tmp_path / "physio.password").write_text("pw\n", encoding="utf-8")
    path = tmp_path / "clinic.toml"
    path.write_text('database = "clinic.sqlite3"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
                    'username = "physio"\npassword_file = "physio.password"\n[web]\n'
                    'users_file = "users"\nsecret_file = "secret"\n', encoding="utf-8")
    config = load_clinic_config(path)
    auth.set_password(config.web.users_file, NAME, PASSWORD)
    db = Database(config.database)
    records = [parse(f"pacer/eva/summary/{period}", json.dumps(body).encode())
               for period, body in bodies]
    records.append(parse("pacer/otto/summary/day",
                         encode(day_summary("otto", date(2026, 11, 23)))))
    db.store(records)
    with TestClient(create_app(config, db=db, connect=False)) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/signin").text)
        assert token
        c.post("/signin", data={"csrf": token.group(1), "name": NAME, "password": PASSWORD})
        yield c


def _row(page: str, day: str) -> str:
    start = page.index(f"<td>{day}")
    return page[start:page.index("</tr>", start)]


def test_patient_page_shows_version_2_s_day(client: TestClient,
                                            bodies: list[tuple[str, dict[str, Any]]]) -> None:
    page = client.get("/patients/eva").text
    days = {b["date"]: b for p, b in bodies if p == "day"}
    posture = _row(page, POSTURE_DAY)
    body = days[POSTURE_DAY]
    assert "<th>Waking day</th><th>Walks, nudges, exercise</th>" in page
    assert "07:55 (said) to 21:55 (configured)" in posture
    assert f"worn {body['worn_min'] / 60:.1f} h" in posture
    assert f"(target {body['walk_target_min']}: " in posture
    assert "exercise 1 (20 min)" in posture
    assert "mostly inferred" not in posture
    share = round(100 * body["sedentary_inferred_min"] / body["sedentary_min"])
    assert f"({share}% inferred)" in posture
    assert "mostly inferred, 100%" in _row(page, STEP_DAY)
    assert re.search(r"valid days \d+;\s+exercise sessions 1 \(no weekly target\)", page)


def test_a_version_1_patient_still_shows(client: TestClient) -> None:
    r = client.get("/patients/otto")
    assert r.status_code == 200
    row = _row(r.text, POSTURE_DAY)
    assert row.count('<td class="v2">\u2013</td>') == 2


def test_the_api_passes_version_2_s_fields_on(client: TestClient) -> None:
    got = client.get("/api/patients/eva").json()
    day = next(d for w in got["weeks"] for d in w["days"] if d["date"] == POSTURE_DAY)
    assert day["window"]["opened_by"] == "event"
    assert day["exercise"] == {"sessions": 1, "minutes": 20}


def test_words_of_the_day() -> None:
    v1 = day_summary("otto", date(2026, 11, 23))
    assert waking_day(v1) == walks_nudges(v1) == "\u2013"
    assert not mostly_inferred(v1)
    assert mostly_inferred({**v1, "sedentary_inferred": True})
    v2 = {**v1, "sedentary_inferred": True, "sedentary_inferred_min": 60, "sedentary_min": 705,
          "window": {"opened": "2026-11-23T06:30:00+11:00", "closed": "2026-11-24T00:10:00+11:00",
                     "opened_by": "detected", "closed_by": "event"},
          "worn_min": 700, "not_worn_min": 30, "lying_min": 20, "walk_lengths": [12, 4],
          "walk_target_min": 10, "prompts_dropped": {"budget": 2, "dnd": 1},
          "breaks": {**v1["breaks"], "ignored_streak": 3},
          "exercise": {"sessions": 0, "minutes": 0}}
    assert not mostly_inferred(v2)  # 60 of 705: the count decides, not the v1 flag
    assert waking_day(v2) == ("06:30 (detected) to Tue 00:10 (said); worn 11.7 h, "
                              "not worn 0.5 h; lying 20 min")
    assert walks_nudges(v2) == ("walks 12, 4 min (target 10: 1 reached it); 2 nudges not "
                                "sent (budget); 1 held back otherwise; 3 prompts ignored "
                                "in a row")


def test_a_window_still_open_says_so() -> None:
    v1 = day_summary("otto", date(2026, 11, 23))
    day = {**v1, "window": {"opened": "2026-11-23T08:00:00+11:00", "closed": None,
                            "opened_by": "detected", "closed_by": None},
           "worn_min": 240, "not_worn_min": 0, "lying_min": 0}
    assert waking_day(day) == "from 08:00 (detected), still open; worn 4.0 h"


PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>probe</title></head>
<body style="margin:0"><iframe id="page" style="border:0;width:%dpx;height:%dpx"
srcdoc="%s"></iframe><script>
window.addEventListener("load", () => {
  const doc = document.getElementById("page").contentDocument;
  document.title = JSON.stringify({width: doc.documentElement.scrollWidth});
});
</script></body></html>"""


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium")
@pytest.mark.parametrize(("name", "size"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_of_the_patient_page(client: TestClient, tmp_path: Path, name: str,
                                         size: tuple[int, int]) -> None:
    """Looked at at both widths (pacer/clinic/screenshots/ with
    PACER_SCREENSHOTS=1); on a phone the days table scrolls inside its card,
    the page does not scroll sideways."""
    page = tmp_path / "patient.html"
    page.write_text(client.get("/patients/eva").text, encoding="utf-8")
    png = screenshot(page, SHOTS / f"patient-v2-{name}.png", (size[0], 1400))
    with Image.open(png) as im:
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 50  # not a blank
    probe = tmp_path / "probe.html"
    probe.write_text(PROBE % (size[0], size[1], html.escape(page.read_text(encoding="utf-8"),
                                                            quote=True)), encoding="utf-8")
    found = re.search(r"<title>(.*?)</title>", dump_dom(probe, (max(size[0], 800), size[1])),
                      re.S)
    assert found
    assert json.loads(html.unescape(found.group(1)))["width"] <= size[0]
