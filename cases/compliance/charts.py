"""The reports' charts, drawn server-side with matplotlib as SVG (no database, no Django, no CDN).

Text is drawn as glyph outlines in Noto Sans CJK SC (the font the evidence PDFs embed, from the
mpl-font package), so Chinese labels look the same in every browser, with or without CJK fonts.
matplotlib is imported on first use: it costs half a second, which only a report should pay.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

from cases.compliance.pdf import packaged_cjk_font

# Colour-blind-safe (Okabe–Ito), in the order the series come.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


@functools.cache
def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import font_manager

    path = packaged_cjk_font()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams.update(
        {
            "font.family": [family, "DejaVu Sans"],
            "svg.fonttype": "path",
            "svg.hashsalt": "kycreview",  # the same figures give the same SVG
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.unicode_minus": False,
        }
    )
    return matplotlib


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    y_label: str = "",
    stacked: bool = False,
    percent: bool = False,
    horizontal: bool = False,
    line: tuple[str, Sequence[float | None]] | None = None,
) -> str:
    """An SVG bar chart: one bar per category and series (side by side, or `stacked`), values as
    percentages with `percent`; `line` adds a line on a second axis (its label, its values)."""
    _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    width = 8.6 if not horizontal else 7.6
    height = 3.6 if not horizontal else max(2.4, 0.32 * len(categories) + 1.4)
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = figure.subplots()
    positions = list(range(len(categories)))
    names = list(series)
    bar = axes.barh if horizontal else axes.bar
    slot = 0.8 / (1 if stacked or not names else len(names))
    base = [0.0] * len(categories)
    for index, name in enumerate(names):
        values = [float(v) for v in series[name]]
        offset = 0.0 if stacked else (index - (len(names) - 1) / 2) * slot
        where = [p + offset for p in positions]
        extra: dict[str, Any] = {"left" if horizontal else "bottom": base} if stacked else {}
        bar(where, values, slot, label=name, color=COLOURS[index % len(COLOURS)], **extra)
        if stacked:
            base = [b + v for b, v in zip(base, values, strict=True)]
    if horizontal:
        axes.set_yticks(positions, list(categories))
        axes.invert_yaxis()
        axes.set_xlabel(y_label)
    else:
        axes.set_xticks(positions, list(categories), rotation=30 if len(categories) > 8 else 0)
        axes.set_ylabel(y_label)
    value_axis = axes.xaxis if horizontal else axes.yaxis
    if percent:
        value_axis.set_major_formatter(PercentFormatter(1.0))
    else:
        value_axis.set_major_locator(MaxNLocator(integer=True))  # counts: whole numbers
    if line is not None:
        label, rates = line
        twin = axes.twinx()
        points = [float("nan") if rate is None else rate for rate in rates]
        twin.plot(positions, points, color="#000000", marker="o", label=label)
        twin.set_ylabel(label)
        twin.yaxis.set_major_formatter(PercentFormatter(1.0))
        twin.set_ylim(0, 1.05)
    axes.set_title(title, loc="left")
    if len(names) > 1 or line is not None:
        figure.legend(loc="outside lower center", ncols=min(4, len(names) + (line is not None)))
    if not categories:
        axes.text(0.5, 0.5, "—", ha="center", va="center", transform=axes.transAxes)
    output = io.StringIO()
    figure.savefig(output, format="svg", metadata={"Date": None})
    return output.getvalue()
