"""The statistics page's monthly chart: reports in and fixed per month as the bars of an inline SVG."""

from __future__ import annotations

from datetime import date

# The monthly chart's drawing area in SVG user units; the bars are scaled to the busiest month.
_CHART_WIDTH, _CHART_HEIGHT, _CHART_TOP, _CHART_BOTTOM = 360, 180, 16, 152


def monthly_chart(monthly: list[dict]) -> dict:
    """The monthly figures as table rows and as the bars of an inline SVG chart (drawn on the server: the
    CSP allows no inline styles or scripts, and the page needs no script for it)."""
    peak = max([1, *(m["reports"] for m in monthly), *(m["fixed"] for m in monthly)])
    slot = _CHART_WIDTH / max(len(monthly), 1)
    bar = slot * 0.36
    scale = (_CHART_BOTTOM - _CHART_TOP) / peak
    months = []
    for i, m in enumerate(monthly):
        year, month = (int(part) for part in m["month"].split("-"))
        first = date(year, month, 1)
        x = i * slot + slot * 0.12
        months.append({
            "date": first, "reports": m["reports"], "fixed": m["fixed"],
            "bars": [
                {"kind": kind, "x": round(x + j * bar, 1), "width": round(bar, 1),
                 "y": round(_CHART_BOTTOM - value * scale, 1), "height": round(value * scale, 1)}
                for j, (kind, value) in enumerate((("in", m["reports"]), ("fixed", m["fixed"])))
            ],
            "label_x": round(i * slot + slot / 2, 1),
        })
    return {
        "months": months, "peak": peak, "width": _CHART_WIDTH, "height": _CHART_HEIGHT,
        "top": _CHART_TOP, "bottom": _CHART_BOTTOM,
    }
