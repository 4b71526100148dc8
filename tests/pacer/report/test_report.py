"""``pacer report`` on a realistic four-week history, made as a clinic would:
synthetic minutes and check-ins (pacer.simulate) through the real ``pacer
replay --store``, then the real ``pacer report`` in all three formats.

The numbers must agree between the HTML, the CSV, the FHIR bundle and the
stored summaries; the FHIR bundle must validate; the HTML must read well in a
real browser at laptop and phone widths, with no network.
"""

from __future__ import annotations

import csv
import html
import json
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from helpers.daemon import pacer_cli
from helpers.shared import shared_dir
from PIL import Image

from pacer.report import csv as report_csv
from pacer.report.example import history
from pacer.report.example.screenshot import LAPTOP, PHONE, chromium, dump_dom, screenshot
from pacer.store import Store

FIRST = history.START
LAST = history.START + timedelta(days=history.DAYS - 1)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> history.History:
    """The 28-day history in a store (about a minute: the replay stores every
    minute), made once for all workers; the tests only read it."""
    folder = shared_dir(tmp_path_factory, "report-history", history.build)
    return history.History(folder / "minutes.csv", folder / "events.jsonl",
                           folder / "pacer.toml", folder / "pacer.sqlite3", FIRST, LAST)


REPORTS = {"html": "report.html", "csv": "report.csv", "fhir": "bundle.json"}


@pytest.fixture(scope="module")
def reports(made: history.History, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, Path]:
    """The whole history's report in each format, made once for all workers."""
    def make(folder: Path) -> None:
        folder.mkdir()
        for fmt, name in REPORTS.items():
            proc = pacer_cli("report", "--config", str(made.config), "--from", FIRST.isoformat(),
                             "--to", LAST.isoformat(), "--format", fmt,
                             "--out", str(folder / name), timeout=300)
            assert proc.returncode == 0, proc.stderr

    folder = shared_dir(tmp_path_factory, "report-files", make)
    return {fmt: folder / name for fmt, name in REPORTS.items()}


@pytest.fixture(scope="module")
def stored(made: history.History) -> dict[str, dict[str, Any]]:
    with Store.open(made.store) as store:
        return {b["date"]: b for b in store.summaries(history.USER, "day")}


def field(body: dict[str, Any], name: str) -> Any:
    table, _, key = name.partition(".")
    return body[table][key] if key else body[name]


# --- the history itself --------------------------------------------------------


def test_the_history_has_what_a_physiotherapist_meets(stored: dict[str, dict[str, Any]]) -> None:
    days = [stored[(FIRST + timedelta(days=i)).isoformat()] for i in range(history.DAYS)]
    assert len(days) == 28
    assert days[history.NO_DATA_DAY]["known_min"] == 0
    assert not days[history.FLAT_DAY]["valid"]
    assert days[history.FLAT_DAY]["known_min"] > 0
    assert all(days[i]["sedentary_inferred"] for i in history.WRIST_DAYS if days[i]["known_min"])
    flags = [f for d in days for f in d["flags"]]
    for flag in ("boom", "bust", "red_flag", "settling", "review_suggested"):
        assert flag in flags
    assert sum(d["breaks"]["snoozed"] for d in days) > 0


# --- CSV -----------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_is_one_row_per_day_with_the_summary_fields(
        reports: dict[str, Path], stored: dict[str, dict[str, Any]]) -> None:
    rows = read_csv(reports["csv"])
    assert [r["date"] for r in rows] == [
        (FIRST + timedelta(days=i)).isoformat() for i in range(history.DAYS)]
    assert tuple(rows[0]) == report_csv.COLUMNS
    assert "plan.quota" in rows[0]
    assert "breaks.taken" in rows[0]
    for row in rows:
        body = stored[row["date"]]
        for name in report_csv.COLUMNS:
            if name == "sedentary_inferred_share":
                share = body["sedentary_inferred_min"] / body["sedentary_min"] \
                    if body["sedentary_min"] else None
                assert row[name] == ("" if share is None else f"{share:.3f}")
                continue
            if name == "walk_lengths":
                assert row[name] == ";".join(str(n) for n in body["walk_lengths"])
                continue
            if name == "provisional":
                assert row[name] == "false"
                continue
            if name in ("enough_data", "days_with_data_30d"):
                continue  # not summary fields: see test_csv_and_html_count_days_with_data
            if name.startswith("prompts."):
                expected = body["prompts"].get(name.split(".")[1], 0)
            elif name == "flags":
                assert row[name].split(";") == (body["flags"] or [""])
                continue
            elif name == "symptoms":
                assert json.loads(row[name]) == body["symptoms"]
                continue
            elif name == "red_flag_reports":
                reported = [s for s in body["symptoms"] if s.get("red_flags")]
                assert len(json.loads(row[name] or "[]")) == len(reported)
                continue
            else:
                expected = field(body, name)
            assert row[name] == report_csv.cell(expected), (row["date"], name)
    no_data = rows[history.NO_DATA_DAY]
    assert (no_data["valid"], no_data["known_min"]) == ("false", "0")


def test_csv_and_html_count_days_with_data(
        reports: dict[str, Path], stored: dict[str, dict[str, Any]]) -> None:
    """Remote-monitoring records: the day at home and the day the battery ran
    out at noon have too little data; the 30-day count runs up day by day (the
    history starts on the report's first day) and the HTML shows the same."""
    rows = read_csv(reports["csv"])
    enough = [r["enough_data"] == "true" for r in rows]
    assert not enough[history.NO_DATA_DAY]
    assert not enough[history.FLAT_DAY]
    for i, r in enumerate(rows):
        assert enough[i] == (stored[r["date"]]["worn_min"] >= 600), r["date"]
        assert int(r["days_with_data_30d"]) == sum(enough[:i + 1]), r["date"]
    total = sum(enough)
    assert total == history.DAYS - 2
    page = reports["html"].read_text(encoding="utf-8")
    assert f'id="monitoring-rolling" data-value="{total}"' in page
    period = re.search(r'<tr data-period="1">.*?data-value="(\d+)"', page, re.S)
    assert period is not None
    assert period[1] == str(total)
    assert "counted to" in page  # the first period runs past the report's last day
    assert "16+" in page


def test_the_30_day_count_reaches_before_the_report_s_first_day(
        made: history.History, reports: dict[str, Path], tmp_path: Path) -> None:
    """A report of the last week still counts the three weeks before it, and
    its billing period starts on the history's first day, not on --from."""
    whole = read_csv(reports["csv"])
    out = tmp_path / "week.csv"
    first = LAST - timedelta(days=6)
    proc = pacer_cli("report", "--store", str(made.store), "--from", first.isoformat(),
                     "--to", LAST.isoformat(), "--format", "csv", "--out", str(out),
                     timeout=300)
    assert proc.returncode == 0, proc.stderr
    week = read_csv(out)
    assert [r["days_with_data_30d"] for r in week] == [
        r["days_with_data_30d"] for r in whole[-7:]]
    assert int(week[0]["days_with_data_30d"]) > 7
    page = tmp_path / "week.html"
    proc = pacer_cli("report", "--store", str(made.store), "--from", first.isoformat(),
                     "--to", LAST.isoformat(), "--format", "html", "--out", str(page),
                     timeout=300)
    assert proc.returncode == 0, proc.stderr
    started = f'<td data-label="From">{FIRST.strftime("%a %d %b %Y")}</td>'
    assert started in page.read_text(encoding="utf-8")


def test_csv_includes_days_with_nothing_stored(made: history.History, tmp_path: Path) -> None:
    out = tmp_path / "wide.csv"
    before, after = FIRST - timedelta(days=2), LAST + timedelta(days=1)
    proc = pacer_cli("report", "--store", str(made.store), "--from", before.isoformat(),
                     "--to", after.isoformat(), "--format", "csv", "--out", str(out),
                     timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    assert len(rows) == history.DAYS + 3
    empty = rows[0]
    assert (empty["date"], empty["user"], empty["valid"]) == (before.isoformat(), "alice", "false")
    assert empty["steps"] == empty["known_min"] == empty["plan.quota"] == ""
    assert rows[-1]["date"] == after.isoformat()
    assert rows[-1]["steps"] == ""


# --- FHIR ----------------------------------------------------------------------


def observations(path: Path, *, daily: bool = True) -> list[dict[str, Any]]:
    """The bundle's daily Observations, or (``daily`` False) its red-flag reports."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in data["entry"]
            if (e["resource"]["code"]["coding"][0]["code"] != "red-flag-report") == daily]


def date_of(obs: dict[str, Any]) -> str:
    """A daily Observation's date: steps and sedentary time carry it as the
    Physical Activity guide wants, the others start their period on it."""
    if "effectiveDateTime" in obs:
        return str(obs["effectiveDateTime"])
    return str(obs["effectivePeriod"]["start"][:10])


def test_fhir_bundle_validates_as_r4_observations(reports: dict[str, Path]) -> None:
    text = reports["fhir"].read_text(encoding="utf-8")
    bundle = Bundle.model_validate_json(text)
    assert bundle.type == "collection"
    assert bundle.entry
    for entry in bundle.entry:
        assert entry.resource is not None
        obs = Observation.model_validate(entry.resource.model_dump())
        assert obs.status in ("final", "preliminary")
        assert obs.effectivePeriod is not None or obs.effectiveDateTime is not None
        assert obs.subject is not None
        for quantity in [obs.valueQuantity] + [c.valueQuantity for c in obs.component or []]:
            if quantity is not None:
                assert quantity.system == "http://unitsofmeasure.org"
                assert quantity.code


def test_fhir_days_are_local_days_with_their_offset(reports: dict[str, Path]) -> None:
    by_day: dict[str, list[dict[str, Any]]] = {}
    for obs in observations(reports["fhir"]):
        by_day.setdefault(date_of(obs), []).append(obs)
    assert len(by_day) == history.DAYS
    # The clocks go forward in London at 01:00 on 29 March 2026: the pacing day
    # that began at 04:00 on the 28th is 23 hours long and ends with a new offset.
    dst = by_day["2026-03-28"][2]["effectivePeriod"]  # sitting bouts
    assert (dst["start"], dst["end"]) == ("2026-03-28T04:00:00+00:00", "2026-03-29T04:00:00+01:00")
    length = datetime.fromisoformat(dst["end"]) - datetime.fromisoformat(dst["start"])
    assert length == timedelta(hours=23)
    for items in by_day.values():
        assert len(items) == 7  # v2: worn time, walks and exercise too
        assert {o["status"] for o in items} == {"final"}
        assert {o["subject"]["identifier"]["value"] for o in items} == {history.USER}
        period = items[2]["effectivePeriod"]
        assert datetime.fromisoformat(period["end"]) > datetime.fromisoformat(period["start"])
    (flag,) = observations(reports["fhir"], daily=False)
    assert flag["effectiveDateTime"].startswith(
        f"{FIRST + timedelta(days=history.RED_FLAG_DAY)}T11:20:00")
    assert flag["valueCodeableConcept"]["coding"][0]["code"] == "urgent"
    assert "Cleared on" in flag["note"][0]["text"]


def fhir_figures(path: Path) -> dict[str, dict[str, Any]]:
    """Per date, the bundle's numbers under the CSV's column names."""
    out: dict[str, dict[str, Any]] = {}
    names = {"41950-7": "steps", "87705-0": "sedentary_min",
             "sitting-bouts-30": "sitting_bouts_30", "sitting-prompts": "breaks.prompted",
             "sitting-bouts-60": "sitting_bouts_60",
             "longest-sitting-bout": "longest_sitting_bout_min",
             "breaks-taken": "breaks.taken", "breaks-natural": "breaks.natural",
             "breaks-ignored": "breaks.ignored", "breaks-snoozed": "breaks.snoozed",
             "breaks-dismissed": "breaks.dismissed",
             "median-response": "breaks.median_response_min",
             # version 2
             "sedentary-inferred": "sedentary_inferred_min", "lying": "lying_min",
             "ignored-streak": "breaks.ignored_streak",
             **{f"dropped-{k}": f"prompts_dropped.{k}"
                for k in ("budget", "limits", "dnd", "coverage", "coherence")},
             "worn-time": "worn_min", "not-worn": "not_worn_min", "walks": "walks",
             "walk-target": "walk_target_min", "exercise-sessions": "exercise.sessions",
             "exercise-minutes": "exercise.minutes"}
    for obs in observations(path):
        day = out.setdefault(date_of(obs), {})
        code = obs["code"]["coding"][0]["code"]
        day[names[code]] = obs.get("valueQuantity", {}).get("value")
        if code == "87705-0":
            day["sedentary_inferred"] = "method" in obs
        for comp in obs.get("component", ()):
            part = comp["code"]["coding"][0]["code"]
            if part == "walk-length":
                day.setdefault("walk_lengths", []).append(comp["valueQuantity"]["value"])
            elif part.startswith("window-"):
                day[f"window.{part[7:].replace('-by', '_by')}"] = None  # seen, not compared
            elif part == "DeviceActivePercentage":
                continue  # a share worked out from worn_min: test_report_fhir_pa checks it
            else:
                day[names[part]] = comp["valueQuantity"]["value"]
    return out


# --- HTML ----------------------------------------------------------------------


class DayTable(HTMLParser):
    """Reads ``data-field``/``data-value`` of the daily table, by ``data-date``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._date: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-date"):
            # The daily table and the waking-day table: one row per date in each.
            self._date = a["data-date"]
            self.rows.setdefault(self._date or "", {})
        elif self._date and a.get("data-field"):
            self.rows[self._date][a["data-field"] or ""] = a.get("data-value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._date = None


def html_figures(path: Path) -> dict[str, dict[str, str]]:
    parser = DayTable()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.rows


def test_html_csv_fhir_and_store_agree(reports: dict[str, Path],
                                       stored: dict[str, dict[str, Any]]) -> None:
    csv_rows = {r["date"]: r for r in read_csv(reports["csv"])}
    fhir = fhir_figures(reports["fhir"])
    page = html_figures(reports["html"])
    assert set(csv_rows) == set(page) == set(fhir) == set(stored)
    checked = 0
    for day, body in stored.items():
        for name, html_value in page[day].items():
            if name == "walk_lengths":
                assert html_value == csv_rows[day][name], day
                continue
            assert html_value == report_csv.cell(field(body, name)), (day, name)
            assert csv_rows[day][name] == html_value, (day, name)
            checked += 1
        no_data = body["known_min"] == 0
        for name, value in fhir[day].items():
            if no_data and name in ("steps", "sedentary_min", "sitting_bouts_30", "walks"):
                assert value is None  # dataAbsentReason instead of a made-up 0
                continue
            if name.startswith("window."):
                continue  # times, not quantities: test_report_v2 checks them
            if name == "walk_lengths":
                assert value == body["walk_lengths"], day
                continue
            assert value == field(body, name), (day, name)
            if name != "sedentary_inferred":
                assert csv_rows[day][name] == report_csv.cell(value), (day, name)
            checked += 1
    assert checked > 28 * 20


def test_html_says_first_what_needs_attention(reports: dict[str, Path]) -> None:
    page = reports["html"].read_text(encoding="utf-8")
    header = page[page.index('id="attention-title"'):page.index('id="steps-title"')]
    red_flag_day = FIRST + timedelta(days=history.RED_FLAG_DAY)
    assert (f"Urgent red flag reported {red_flag_day:%a %d %b} at 11:20: severe night pain"
            in header)
    assert "to get medical advice the same day" in header
    assert "The person did not say they had been seen." in header
    assert (f"Cleared on {red_flag_day + timedelta(days=1):%a %d %b} 09:30 by physio.jones "
            "(physiotherapist): seen in clinic") in header
    # v2's rising pain (each day at least as high, up 2 or more over three days):
    # the red day's 7 after two days of 1 suggests the review (the scripted
    # rise later in the month comes while that suggestion is still open).
    review_day = FIRST + timedelta(days=history.RED_DAY)
    assert f"Review suggested on {review_day:%a %d %b}" in header
    assert ("Pain reported three days running, up 6 points: 1 \u2192 1 \u2192 7 "
            f"({review_day - timedelta(days=2):%a %d} to {review_day:%a %d %b})") in header
    assert "1 boom-bust cycle" in header
    assert "Low adherence to movement breaks" in header
    no_data = FIRST + timedelta(days=history.NO_DATA_DAY)
    assert "2 days without valid data" in header
    assert f"{no_data:%a %d %b} (no wearable data)" in header
    # In order of urgency.
    assert header.index("URGENT") < header.index("REVIEW") < header.index("NOTE")
    assert "Sitting was <strong>inferred</strong> on 7 days" in header


def test_html_lists_every_plan_change_with_who_and_why(reports: dict[str, Path]) -> None:
    page = reports["html"].read_text(encoding="utf-8")
    table = page[page.index('id="plan-changes"'):page.index('id="weeks-title"')]
    assert "physio.jones" in table
    assert "sitting aggravates her back: shorter bouts, agreed at review" in table
    assert "sitting.limit_min = 30" in table
    assert "alert cleared" in table
    assert "the baseline is complete" in table


def test_html_opens_offline(reports: dict[str, Path]) -> None:
    page = reports["html"].read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert not re.search(r"""\bsrc\s*=""", page)
    assert not re.search(r"""url\(\s*['"]?(https?:|//)""", page)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs
    # Links inside the page, and the heat map's picture inline as data.
    assert all(h.startswith(("#", "data:image/png;base64,")) for h in hrefs)
    # Several inline SVGs share one id space: every id must be unique.
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert page.count('<svg class="chart"') == 14  # seven charts, wide and narrow


# --- in a real browser ---------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        pytest.skip("chromium is not installed and this run could not install it "
                    "(.ci/run installs Debian's chromium when it runs as root)")
    return found


def distinct_colours(png: Path) -> int:
    with Image.open(png) as im:
        return len(im.convert("RGB").resize((200, 350)).getcolors(1 << 16) or [])


@pytest.mark.usefixtures("browser")
@pytest.mark.parametrize(("name", "size"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots(reports: dict[str, Path], tmp_path: Path, name: str,
                     size: tuple[int, int]) -> None:
    png = screenshot(reports["html"], tmp_path / f"{name}.png", size)
    with Image.open(png) as im:
        assert im.size == size
    assert distinct_colours(png) > 50  # text and charts, not a blank or error page


LAYOUT_PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>probe</title></head>
<body style="margin:0">
<iframe id="page" style="border:0;width:%dpx;height:%dpx" srcdoc="%s"></iframe>
<script>
window.addEventListener("load", () => {
  const doc = document.getElementById("page").contentDocument;
  const shown = (sel) => getComputedStyle(doc.querySelector(sel)).display;
  const charts = [...doc.querySelectorAll("svg.chart")].filter(s => s.getClientRects().length);
  document.title = JSON.stringify({
    width: doc.documentElement.scrollWidth,
    narrow: shown(".narrow"),
    wide: shown(".wide"),
    charts: charts.length,
    right: Math.max(...charts.map(s => s.getBoundingClientRect().right)),
  });
});
</script></body></html>"""


def layout(page: Path, tmp_path: Path, size: tuple[int, int]) -> dict[str, Any]:
    """Measured in the browser: the report in an iframe of exactly ``size``
    (headless Chromium will not make its own window narrower than 500 px), with
    a probe script in the wrapper page; the report itself has no script."""
    probe = tmp_path / f"probe-{size[0]}.html"
    text = page.read_text(encoding="utf-8")
    probe.write_text(LAYOUT_PROBE % (size[0], size[1], html.escape(text, quote=True)),
                     encoding="utf-8")
    dom = dump_dom(probe, (max(size[0], 800), size[1]))
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert found, dom[:500]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


@pytest.mark.usefixtures("browser")
def test_phone_gets_the_narrow_charts_and_no_sideways_page(
        reports: dict[str, Path], tmp_path: Path) -> None:
    phone = layout(reports["html"], tmp_path, PHONE)
    assert (phone["narrow"], phone["wide"]) == ("block", "none")
    assert phone["width"] <= PHONE[0]  # tables scroll inside their box, not the page
    assert phone["charts"] == 7
    assert phone["right"] <= PHONE[0]  # every chart fits the screen
    laptop = layout(reports["html"], tmp_path, LAPTOP)
    assert (laptop["narrow"], laptop["wide"]) == ("none", "block")
    assert laptop["width"] <= LAPTOP[0]
    assert laptop["charts"] == 7
