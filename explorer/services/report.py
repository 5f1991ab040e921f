"""Figures and a standalone HTML report of a comparison, without Qt (the CLI writes them headless).

Figures are drawn with matplotlib's object API on its Agg canvas: no pyplot and so no global
figure state, which makes drawing safe on any thread and needs no display. Every figure reads on
its own: each panel is titled with the codec's name and what it measured, the axes carry units
(time in s, frequency in kHz, codebook index) and every image has a colour bar (level in dBFS,
token id). The report embeds every figure and every sound as a data: URI, so the one file can be
mailed or put on a course page.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import soundfile as sf
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import FuncFormatter, MaxNLocator

from explorer.core.audio import Clip
from explorer.core.metrics import fmt
from explorer.core.palettes import SPEC_LEVELS, colormap, token_palette
from explorer.core.provenance import provenance_lines, sidecar_path
from explorer.core.spectrogram import spectrogram_db
from explorer.core.types import AnyArray
from explorer.core.output import write_bytes, write_text
from explorer.services.compare import Compared, column_label, compare_named, comparison_provenance, write_csv
from explorer.services.engine import Encoding
from explorer.services.session import Engines

WIDTH_IN, DPI = 10.0, 100
"""Figures are 1000 pixels wide."""
SPECTROGRAM_IN, GRID_IN = 2.0, 1.3
"""Height of one spectrogram panel and of one token-grid panel, in inches."""
MAX_HZ = 12000.0
"""The spectrograms show up to 12 kHz (or the clip's Nyquist frequency, if lower)."""


def _spectrogram_cmap() -> ListedColormap:
    """The window's spectrogram colours (:func:`colormap`) as a matplotlib colour map."""
    lo, hi = SPEC_LEVELS
    return ListedColormap(colormap(np.linspace(lo, hi, 256), lo, hi) / 255.0, name="explorer-spectrogram")


def draw_spectrogram(ax: Axes, clip: Clip, title: str) -> AxesImage:
    """``clip``'s spectrogram in dBFS on ``ax``: time in s across, frequency in kHz up."""
    db = spectrogram_db(clip.samples, clip.sample_rate)  # [frames, bins]
    nyquist = clip.sample_rate / 2
    top_hz = min(MAX_HZ, nyquist)
    bins = max(2, int(round(db.shape[1] * top_hz / nyquist)))
    lo, hi = SPEC_LEVELS
    image = ax.imshow(db[:, :bins].T, origin="lower", aspect="auto", cmap=_spectrogram_cmap(), vmin=lo, vmax=hi,
                      extent=(0.0, clip.duration, 0.0, top_hz / 1000), interpolation="nearest")
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_ylabel("frequency (kHz)")
    return image


def token_image(codes: list[AnyArray], width: int) -> AnyArray:
    """``[codebooks, width]`` token ids: each codebook's row stretched over the same time span.

    A coarse codebook (SNAC's slower scales) repeats each code over the columns it covers.
    """
    rows = []
    for row in codes:
        row = np.asarray(row)
        rows.append(row[(np.arange(width) * len(row)) // width] if len(row) else np.zeros(width, np.int64))
    return np.stack(rows)


def draw_grid(ax: Axes, enc: Encoding, duration: float, title: str) -> AxesImage:
    """The token grid on ``ax``: one row per codebook (0 at the top), in the window's token colours."""
    size = enc.info.codebook_size
    width = max([len(c) for c in enc.codes] + [1])
    n = len(enc.codes)
    palette = ListedColormap(token_palette(size)[:, :3] / 255.0, name="explorer-tokens")
    image = ax.imshow(token_image(enc.codes, width), aspect="auto", cmap=palette, vmin=-0.5, vmax=size - 0.5,
                      extent=(0.0, duration, n - 0.5, -0.5), interpolation="nearest")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=min(n, 6), integer=True))
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_ylabel("codebook")
    return image


def _spectrogram_title(r: Compared) -> str:
    row = r.row
    kind = "" if r.encoding.info.tokens else " measured (no tokens: 20 ms packets)"
    return (f"{row.codec}: reconstruction at {row.bitrate_kbps:g} kbps{kind}, SI-SDR {fmt(row.si_sdr_db, '.1f', ' dB')}, "
            f"STOI {fmt(row.stoi, '.2f')}")


_Panel = tuple[float, Callable[[Axes], AxesImage], str]
"""One panel of a figure: its height in inches, what draws it, its colour bar's label."""


def comparison_figure(original: Clip | None, results: list[Compared]) -> Figure:
    """The original's spectrogram (when given), then each codec's reconstruction spectrogram and token grid.

    One time axis for all panels; a colour bar beside each (level in dBFS for spectrograms, token id
    for grids). The figure is :data:`WIDTH_IN` x its panels' heights at :data:`DPI`.
    """
    panels: list[_Panel] = []
    if original is not None:
        panels.append((SPECTROGRAM_IN, partial(draw_spectrogram, clip=original,
                                               title=f"original: {original.sample_rate} Hz, {original.duration:.2f} s"),
                       "level (dBFS)"))
    for r in results:
        panels.append((SPECTROGRAM_IN, partial(draw_spectrogram, clip=r.reconstruction, title=_spectrogram_title(r)), "level (dBFS)"))
        if r.encoding.info.tokens:  # Opus has no tokens: its panel is its reconstruction, its title says so
            grid_title = f"{r.row.codec}: tokens, {r.row.codebooks} codebooks at {r.row.frame_rates_hz} Hz"
            panels.append((GRID_IN, partial(draw_grid, enc=r.encoding, duration=r.reconstruction.duration, title=grid_title),
                           "token id"))
    heights = [height for height, _, _ in panels]
    fig = Figure(figsize=(WIDTH_IN, sum(heights) + 0.5), dpi=DPI, layout="constrained")
    axes: list[Axes] = list(fig.subplots(len(panels), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]) if panels else []
    for ax, (_, draw, label) in zip(axes, panels):
        fig.colorbar(draw(ax), ax=ax, pad=0.01, label=label)
    if axes:
        axes[-1].set_xlabel("time (s)")
    return fig


LADDER_METRICS = (("stoi", "STOI"), ("pesq", "PESQ (wide band)"), ("si_sdr_db", "SI-SDR (dB)"))
"""The ladder figure's panels: each metric against the bitrate heard."""


def ladder_figure(title: str, ladder: list[dict[str, Any]], references: list[dict[str, Any]]) -> Figure:
    """The bitrate ladder: each metric against kbps (log scale), the ladder's steps as one line, and the
    reference codec's points (Opus) as stars labelled with its name and setting, never joined to the line.

    ``ladder`` and ``references`` are the experiment's rows (``kbps`` and the metrics; a reference row
    also has ``codec`` and ``kbps_setting``). A metric that does not apply (None) leaves a gap.
    """
    fig = Figure(figsize=(WIDTH_IN, 3.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(LADDER_METRICS), squeeze=False)[0]
    for ax, (key, label) in zip(axes, LADDER_METRICS):
        xs, ys = _points(ladder, key)
        ax.plot(xs, ys, "o-", color=LADDER_COLOUR, label="ladder (first N codebooks)")
        rx, ry = _points(references, key)
        if rx:
            codec = str(references[0]["codec"]).capitalize()
            ax.plot(rx, ry, "*", color=REFERENCE_COLOUR, markersize=13, markeredgecolor="black", linestyle="none",
                    label=f"{codec} (reference)")
            for row in references:
                if row.get(key) is not None:
                    ax.annotate(f"{codec} {row['kbps_setting']}", (row["kbps"], row[key]), textcoords="offset points",
                                xytext=(0, 8), ha="center", fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 1, 10: kbps as numbers, not powers
        ax.margins(y=0.15)  # room above the top point for its label
        ax.set_xlabel("kbps (log scale)")
        ax.set_title(label, loc="left", fontsize=10)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=11)
    return fig


LADDER_COLOUR, REFERENCE_COLOUR = "#3d59a1", "#e0af68"


def _points(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(kbps, value) of the rows where ``key`` has a value."""
    kept = [(float(r["kbps"]), float(r[key])) for r in rows if r.get(key) is not None]
    return [x for x, _ in kept], [y for _, y in kept]


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` on an Agg canvas as PNG bytes (its size in inches times its dpi, in pixels)."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png")
    return buf.getvalue()


def wav_bytes(clip: Clip) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(clip.samples.T, -1, 1), clip.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def comparison_png(original: Clip, results: list[Compared]) -> bytes:
    """:func:`comparison_figure` of the original and every result, as a PNG."""
    return figure_png(comparison_figure(original, results))


def _uri(kind: str, data: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def provenance_html(record: Mapping[str, Any]) -> str:
    """A report's "Provenance" section: :func:`explorer.core.provenance.provenance_lines` as a table."""
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in provenance_lines(record))
    return f'<section id="provenance"><h2>Provenance</h2><table class="provenance">{rows}</table></section>'


def html_report(title: str, original: Clip, results: list[Compared], record: Mapping[str, Any] | None = None) -> str:
    """A standalone page: the table (readable headers with units), then for the original and every
    codec its audio and its figure (spectrogram, and the codec's token grid), then the provenance
    (``record``, default :func:`comparison_provenance` of ``results``)."""
    record = comparison_provenance(results) if record is None else record
    rows = [asdict(r.row) for r in results]
    head = "".join(f"<th>{html.escape(column_label(k))}</th>" for k in (rows[0] if rows else {}))
    body = "".join("<tr>" + "".join(f"<td>{html.escape('n/a' if v is None else str(v))}</td>" for v in row.values()) + "</tr>"
                   for row in rows)
    sections = [f"""<section><h2>original</h2><audio controls src="{_uri('audio/wav', wav_bytes(original))}"></audio>
<img alt="original spectrogram" src="{_uri('image/png', figure_png(comparison_figure(original, [])))}"></section>"""]
    for r in results:
        name = html.escape(r.row.codec)
        sections.append(f"""<section><h2>{name}</h2>
<p>{r.row.bitrate_kbps} kbps, {fmt(r.row.tokens_per_second, 'g')} tokens/s, SI-SDR {fmt(r.row.si_sdr_db, 'g', ' dB')}, STOI {fmt(r.row.stoi, 'g')},
PESQ {fmt(r.row.pesq, 'g')} (narrow band {fmt(r.row.pesq_nb, 'g')}), ViSQOL {fmt(r.row.visqol, 'g')} ({r.slow.visqol_mode} mode)</p>
{''.join(f"<p>{html.escape(line)}</p>" for line in r.note_lines())}
<audio controls src="{_uri('audio/wav', wav_bytes(r.reconstruction))}"></audio>
<img alt="{name} spectrogram and token grid" src="{_uri('image/png', figure_png(comparison_figure(None, [r])))}">
</section>""")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;background:#fafafa}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap;font-size:90%}}
img{{display:block;margin:4px 0;max-width:100%}} section{{margin:1.5em 0}} audio{{width:900px;max-width:100%}}
table.provenance td,table.provenance th{{text-align:left;white-space:normal}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Made by Codec Explorer. Every value is measured on this clip; the sounds and pictures are embedded.</p>
<table><tr>{head}</tr>{body}</table>
{''.join(sections)}
{provenance_html(record)}
</body></html>
"""


@dataclass(frozen=True)
class Comparison:
    """A comparison's results and its picture, made together off the GUI thread."""

    results: list[Compared]
    png: bytes


def compare_and_draw(engines: Engines, specs: list[tuple[str, int | None]], device: str, clip: Clip) -> Comparison:
    """:func:`explorer.services.compare.compare_named`, then :func:`comparison_png` of its results."""
    results = compare_named(engines, specs, device, clip)
    return Comparison(results, comparison_png(clip, results))


def write_comparison(folder: Path, title: str, clip: Clip, comparison: Comparison) -> list[Path]:
    """``comparison.csv`` (with its provenance sidecar), ``comparison.png`` and ``report.html`` in ``folder``,
    by the output policy; returns the files written."""
    paths = [folder / "comparison.csv", folder / "comparison.png", folder / "report.html"]
    record = comparison_provenance(comparison.results)
    write_csv([r.row for r in comparison.results], paths[0], record=record)
    write_bytes(paths[1], comparison.png)
    write_text(paths[2], html_report(f"Codec comparison: {title}", clip, comparison.results, record))
    return paths + [sidecar_path(paths[0])]


def export_comparison(engines: Engines, folder: Path, title: str, clip: Clip, comparison: Comparison) -> list[Path]:
    """:func:`write_comparison` as a job of a worker that hands every job its engines (it needs none)."""
    return write_comparison(folder, title, clip, comparison)
