"""Building blocks of the self-contained HTML reports (EDA, evaluation).

The Kubeflow dashboard shows HTML artifacts in a sandboxed frame, so a page carries its
figures as inline PNG data and loads nothing: no scripts, no fonts, no style sheets.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; } td.n { text-align: right; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
.warn { color: #b26a00; font-weight: bold; }
.banner { padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.banner.ok { background: #e6f4ea; } .banner.bad { background: #fdecea; }
.gallery { display: flex; flex-wrap: wrap; gap: 8px; } figure { margin: 0; font-size: 0.75em; max-width: 256px; }
figcaption { word-break: break-all; }
"""


class Markup(str):
    """Text that is already HTML."""


def page(title: str, body: Sequence[str]) -> str:
    """A whole document: the title, the shared style, then the body's parts in order."""
    return "\n".join([
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>',
        f"<style>{STYLE}</style></head><body>",
        *body,
        "</body></html>",
    ]) + "\n"


def figure_png(figure: Figure) -> bytes:
    """A Matplotlib figure as the PNG bytes that `image` inlines; the figure is closed, so reports do not pile them up."""
    import matplotlib.pyplot as plt  # here, not at import: the model card's page draws no figure

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    plt.close(figure)
    return buffer.getvalue()


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def gallery(items: Sequence[tuple[str, bytes]]) -> str:
    """Captioned thumbnails in a wrapping row."""
    figures = "".join(
        f"<figure>{image(png, caption)}<figcaption>{html.escape(caption)}</figcaption></figure>" for caption, png in items
    )
    return f'<div class="gallery">{figures}</div>'


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Integers with thousands separators and floats with three decimals, right-aligned; None as a dash."""
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(
            '<td class="n">&ndash;</td>' if cell is None else
            f"<td>{html.escape(str(cell))}</td>" if isinstance(cell, bool) else
            f'<td class="n">{cell:,}</td>' if isinstance(cell, int) else
            f'<td class="n">{cell:.3f}</td>' if isinstance(cell, float) else
            f"<td>{cell}</td>" if isinstance(cell, Markup) else
            f"<td>{html.escape(str(cell))}</td>"
            for cell in row
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
