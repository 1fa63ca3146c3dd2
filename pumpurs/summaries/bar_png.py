"""Horizontal bar charts drawn straight onto a Pillow image: a few rectangles and texts.

A summary run draws some two thousand small charts; matplotlib's figure, layout and artist
machinery cost about 100 ms each, plain rectangles and FreeType text a few milliseconds.
Sizes follow the matplotlib version they replace: inches at `DPI` pixels, the font in points.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
from PIL import Image, ImageColor, ImageDraw, ImageFont

DPI = 200
FONT_POINTS = 10
BAR_SHARE = 0.62  # of each row's height
ROOM_FOR_TEXT = 1.28  # the axis runs to 128% of the longest bar, so its text fits
TEXT = "#1f2933"
AXIS = "#9aa5b1"
TEXT_SHADES = 10  # anti-aliased text: shades from the text's colour to the white behind it


@dataclass(frozen=True)
class Bars:
    """What to draw: a label per bar (top first), each part's name and values, a text per bar."""

    labels: Sequence[str]
    names: Sequence[str]
    parts: Sequence[Sequence[float]]
    texts: Sequence[str]


_local = threading.local()


def font() -> ImageFont.FreeTypeFont:
    """Return DejaVu Sans (it ships with matplotlib and has every Latvian letter).

    One per thread: a FreeType face must not render in two threads at once, and Pillow lets
    go of the interpreter lock while it renders, so charts can be drawn in threads.
    """
    loaded: ImageFont.FreeTypeFont | None = getattr(_local, "font", None)
    if loaded is None:
        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        loaded = _local.font = ImageFont.truetype(str(path), round(FONT_POINTS * DPI / 72))
    return loaded


def px(inches: float) -> int:
    """Return a length in inches as pixels."""
    return round(inches * DPI)


def draw_bars(bars: Bars, width_inches: float, colours: Sequence[str]) -> bytes:
    """Return the chart as PNG bytes: labels left, stacked bars, each bar's text at its end."""
    legend = len(bars.parts) > 1
    height = px(0.4 + 0.3 * len(bars.labels) + (0.3 if legend else 0.0))
    image = Image.new("RGB", (px(width_inches), height), "white")
    canvas = ImageDraw.Draw(image)
    pad = px(0.08)
    left = pad + max(round(font().getlength(label)) for label in bars.labels) + pad
    right, bottom = image.width - pad, height - pad - (px(0.3) if legend else 0)
    totals = [sum(float(part[i]) for part in bars.parts) for i in range(len(bars.labels))]
    scale = (right - left) / ((max(totals) or 1.0) * ROOM_FOR_TEXT)
    row = (bottom - pad) / len(bars.labels)
    for index, label in enumerate(bars.labels):
        middle = pad + row * (index + 0.5)
        top, base = middle - row * BAR_SHARE / 2, middle + row * BAR_SHARE / 2
        start = 0.0
        for colour, part in zip(colours, bars.parts, strict=False):
            end = start + float(part[index])
            if end > start:
                canvas.rectangle((left + start * scale, top, left + end * scale, base), colour)
            start = end
        canvas.text((left - pad, middle), label, TEXT, font(), anchor="rm")
        text_at = left + (start + max(totals) * 0.01) * scale
        canvas.text((text_at, middle), bars.texts[index], TEXT, font(), anchor="lm")
    canvas.line((left, pad, left, bottom), AXIS, width=2)
    if legend:
        _legend(canvas, bars.names, colours, (pad, bottom + pad + px(0.1)))
    buffer = io.BytesIO()
    # A few colours and the shades of anti-aliased text: a palette image is a third of the bytes
    # and quicker to compress than full colour. The palette is known beforehand (only text is
    # anti-aliased, always on white), so mapping onto it is cheap; finding one is not.
    image.quantize(palette=palette(tuple(colours)), dither=Image.Dither.NONE).save(buffer, "PNG")
    return buffer.getvalue()


@cache
def palette(colours: tuple[str, ...]) -> Image.Image:
    """Return the palette of a chart: white, the axis, the bars, and text shaded onto white."""
    white, text = (255, 255, 255), ImageColor.getrgb(TEXT)
    shades = [
        tuple(round(w + (t - w) * step / TEXT_SHADES) for w, t in zip(white, text, strict=True))
        for step in range(1, TEXT_SHADES + 1)
    ]
    rgb = [white, ImageColor.getrgb(AXIS), *(ImageColor.getrgb(c) for c in colours), *shades]
    image = Image.new("P", (1, 1))
    image.putpalette([value for colour in rgb for value in colour[:3]])
    return image


def _legend(
    canvas: ImageDraw.ImageDraw, names: Sequence[str], colours: Sequence[str], at: tuple[int, int]
) -> None:
    x, middle = at
    box = px(0.1)
    for name, colour in zip(names, colours, strict=False):
        canvas.rectangle((x, middle - box / 2, x + box, middle + box / 2), colour)
        canvas.text((x + box + box / 2, middle), name, TEXT, font(), anchor="lm")
        x += round(box * 2.5 + font().getlength(name))
