"""A PNG of a benchmark run, drawn with Pillow: per table of the report (a loop and its problem)
and implementation, the speed-up over each baseline and the share of the floor, as labelled
horizontal bars.

Usage: python bench/report.py results.json --plot results.png

The numbers are the report's own (report.speedup, report.share_of_floor): the plot only draws
them. Speed-ups go on a log scale centred on 1x (green to the right: faster than the baseline;
red to the left: slower), so 0.5x and 2x are bars of one length; the shares of floor on a
linear scale from 0 to 100% (further if a share exceeds it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import report

WIDTH = 1200
MARGIN = 12
LABEL_W = 250  # implementation names
SPEED_W = 560  # the speed-up panel
GAP_W = 20
FLOOR_W = WIDTH - 2 * MARGIN - LABEL_W - SPEED_W - GAP_W  # the share-of-floor panel
TOP_H = 78  # title, the run's peaks, the panels' captions and scale
TABLE_H = 24  # a table's title
ROW_H = 18  # one bar
TABLE_GAP = 8
BAR_INSET = 3  # between a bar and the edges of its row
MIN_DECADES = 1  # the speed-up scale spans at least 0.1x .. 10x

BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
GRID = (200, 200, 200)
FASTER = (46, 139, 87)
SLOWER = (205, 70, 60)
FLOOR = (70, 110, 190)
STRIPE = (244, 246, 250)  # behind every other table, so that the eye finds a table's rows


@dataclass(frozen=True)
class Bar:
    """One drawn bar: which number it shows and where. kind "speedup": value = report.speedup of
    `impl` over `reference` (a baseline); kind "floor": value = the share of `reference` (a peak)."""

    table: str
    impl: str
    kind: str
    reference: str
    value: float
    box: tuple  # (x0, y0, x1, y1), pixels, both ends inclusive
    color: tuple


@dataclass(frozen=True)
class Layout:
    bars: list
    titles: list  # (y, text) of each table
    labels: list  # (y, text) of each implementation
    stripes: list  # (y0, y1) of every other table
    decades: int  # the speed-up scale spans 10**-decades .. 10**decades
    floor_scale: float  # the share at the right end of the floor panel (1.0: 100%)
    height: int


def speed_x(value, decades):
    """Pixel column of a speed-up on the log scale (1x in the middle of the panel)."""
    middle = MARGIN + LABEL_W + SPEED_W // 2
    return middle + round((SPEED_W // 2 - 1) * math.log10(value) / decades)


def floor_x(share, scale):
    left = MARGIN + LABEL_W + SPEED_W + GAP_W
    return left + round((FLOOR_W - 1) * share / scale)


def _rows(data):
    """(table title, [(implementation, [("speedup" | "floor", reference, value), ...])]) per table
    with something to draw; the peak group is the floor itself and is left out."""
    rates = report.peaks(data)
    tables = []
    for group, dataset, by_impl, refs in report.grouped(data):
        if group == "peak":
            continue
        rows = []
        for impl, bench in by_impl.items():
            values = [("speedup", ref, report.speedup(by_impl[ref], bench)) for ref in refs if ref != impl]
            share = report.share_of_floor(bench, rates)
            if share is not None:
                values.append(("floor", share[0], share[1]))
            if values:
                rows.append((impl, values))
        if rows:
            tables.append((f"{group} - {dataset}" if dataset else group, rows))
    return tables


def layout(data):
    """Where every bar, title and label goes, and the scales: all the numbers the PNG shows."""
    tables = _rows(data)
    values = [(kind, value) for _, rows in tables for _, vs in rows for kind, _, value in vs]
    largest = max([abs(math.log10(v)) for k, v in values if k == "speedup" and v > 0], default=0.0)
    decades = max(MIN_DECADES, math.ceil(largest - 1e-12))
    floor_scale = max([1.0] + [v for k, v in values if k == "floor"])
    bars, titles, labels, stripes = [], [], [], []
    y = TOP_H
    for index, (title, rows) in enumerate(tables):
        top = y
        titles.append((y + 4, title))
        y += TABLE_H
        for impl, vs in rows:
            speedups = [v for v in vs if v[0] == "speedup"]
            floors = [v for v in vs if v[0] == "floor"]
            labels.append((y + 2, impl))
            for line in range(max(len(speedups), len(floors))):
                y0, y1 = y + BAR_INSET, y + ROW_H - 1 - BAR_INSET
                if line < len(speedups):
                    _, ref, value = speedups[line]
                    one, end = speed_x(1.0, decades), speed_x(value, decades)
                    box = (one, y0, end, y1) if end >= one else (end, y0, one, y1)
                    bars.append(Bar(title, impl, "speedup", ref, value, box, FASTER if value >= 1 else SLOWER))
                if line < len(floors):
                    _, peak, share = floors[line]
                    left = floor_x(0.0, floor_scale)
                    bars.append(Bar(title, impl, "floor", peak, share, (left, y0, floor_x(share, floor_scale), y1),
                                    FLOOR))
                y += ROW_H
        if index % 2:
            stripes.append((top, y + TABLE_GAP // 2))
        y += TABLE_GAP
    return Layout(bars, titles, labels, stripes, decades, floor_scale, y + MARGIN)


def _font(size):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # a scalable font (Pillow >= 10.1 with FreeType)
    except TypeError:
        return ImageFont.load_default()


def _speed_text(value):
    return f"{value:.2f}x" if value < 100 else f"{value:.0f}x"


def draw(data, path):
    """Write the PNG of the run `data` (a pytest-benchmark JSON, loaded) to `path`; returns its Layout."""
    from PIL import Image, ImageDraw

    plan = layout(data)
    image = Image.new("RGB", (WIDTH, plan.height), BACKGROUND)
    pen = ImageDraw.Draw(image)
    font, small, bold = _font(13), _font(11), _font(15)
    for y0, y1 in plan.stripes:
        pen.rectangle((0, y0, WIDTH - 1, y1), fill=STRIPE)

    rates = report.peaks(data)
    pen.text((MARGIN, 6), "fastgen benchmarks: speed-up over each baseline, and share of this machine's floor", fill=INK,
             font=bold)
    peaks = ", ".join(f"{name} {rate / report.PEAK_UNITS[name][1]:.1f} {report.PEAK_UNITS[name][0]}"
                      for name, rate in rates.items())
    pen.text((MARGIN, 26), f"peaks measured in this run: {peaks}" if peaks else "no peaks in this run (add "
             "bench/test_peaks.py for the share of floor)", fill=INK, font=small)
    speed_left, floor_left = MARGIN + LABEL_W, floor_x(0.0, plan.floor_scale)
    pen.text((speed_left, 44), "speed-up = baseline's median / this one's (log scale; green: faster)", fill=INK,
             font=small)
    pen.text((floor_left, 44), "share of floor (% of the peak)", fill=INK, font=small)

    bottom = plan.height - MARGIN
    for power in range(-plan.decades, plan.decades + 1):
        x = speed_x(10.0**power, plan.decades)
        pen.line((x, TOP_H - 4, x, bottom), fill=INK if power == 0 else GRID, width=1)
        text = f"{10.0 ** power:g}x"
        width = pen.textlength(text, font=small)
        pen.text((min(max(x - width / 2, speed_left), speed_left + SPEED_W - width), 60), text, fill=INK, font=small)
    for percent in range(0, int(100 * plan.floor_scale) + 1, 25):
        x = floor_x(percent / 100, plan.floor_scale)
        pen.line((x, TOP_H - 4, x, bottom), fill=GRID, width=1)
        text = f"{percent}%"
        pen.text((min(x - pen.textlength(text, font=small) / 2, WIDTH - MARGIN - pen.textlength(text, font=small)), 60),
                 text, fill=INK, font=small)

    for y, title in plan.titles:
        pen.text((MARGIN, y), title, fill=INK, font=bold)
    for y, impl in plan.labels:
        pen.text((MARGIN + 8, y), impl, fill=INK, font=font)
    for bar in plan.bars:
        x0, y0, x1, y1 = bar.box
        pen.rectangle(bar.box, fill=bar.color)
        if bar.kind == "speedup":
            text = f"{_speed_text(bar.value)} {bar.reference}"
            one = speed_x(1.0, plan.decades)
            # on the other side of the 1x line, where no bar of this row is
            x = one - 6 - pen.textlength(text, font=small) if bar.value >= 1 else one + 6
        else:
            text = f"{100 * bar.value:.0f}% {bar.reference}"
            x = x1 + 4 if x1 + 4 + pen.textlength(text, font=small) < WIDTH - MARGIN else x0 + 4
        pen.text((x, y0 - 1), text, fill=INK, font=small)
    image.save(path, format="PNG")
    return plan
