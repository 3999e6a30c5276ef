"""The grade colour scale shared by every figure.

A single-hue sequential scale whose lightness falls as the grade rises, so the order reads in
greyscale and for colour-blind readers (ColorBrewer 'Blues', colorbrewer2.org); figures also write
the grade as text where they can.
"""

from __future__ import annotations

# CTCAE grade (0 = no event) -> colour; 5 = death is the darkest.
GRADE_COLORS: dict[int, str] = {
    0: "#f7fbff",
    1: "#c6dbef",
    2: "#6baed6",
    3: "#2171b5",
    4: "#08306b",
    5: "#000000",
}
UNKNOWN_GRADE_COLOR = "#bdbdbd"


def grade_color(grade: int | None) -> str:
    return GRADE_COLORS.get(int(grade), UNKNOWN_GRADE_COLOR) if grade is not None else UNKNOWN_GRADE_COLOR


def discrete_grade_colorscale(max_grade: int = 5) -> list[list]:
    """A stepped Plotly colorscale for z in 0..max_grade (each grade one flat band)."""
    scale: list[list] = []
    n = max_grade + 1
    for g in range(n):
        lo, hi = g / n, (g + 1) / n
        scale += [[lo, GRADE_COLORS[g]], [hi, GRADE_COLORS[g]]]
    return scale
