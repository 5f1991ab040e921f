"""The exported figures and the experiments' plot read on their own: axes, units, codec names, colour bars,
readable table headers, one x per step, and narration that follows what the codec is and what was measured."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest

from conftest import shows_nan


@pytest.fixture(scope="module")
def two_counts(loaded, speech):
    """rvq-lab at all its codebooks and at 4, compared on the speech clip."""
    from explorer.services.compare import compare

    return compare([(loaded("rvq-lab"), None), (loaded("rvq-lab"), 4)], speech)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, decoded by Pillow (it fails on a malformed file)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size


def test_comparison_figure_names_each_codec_and_labels_its_axes_and_colour_bars(speech, two_counts):
    from explorer.core.palettes import token_palette
    from explorer.services.report import DPI, comparison_figure, comparison_png

    fig = comparison_figure(speech, two_counts)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(panels) == 5 and len(bars) == 5  # original, then spectrogram and token grid per codec; a bar each
    titles = [ax.get_title("left") for ax in panels]
    assert titles[0].startswith("original: 24000 Hz")
    full, four = (r.row for r in two_counts)
    assert titles[1] == f"rvq-lab: reconstruction at {full.bitrate_kbps:g} kbps, SI-SDR {full.si_sdr_db:.1f} dB, STOI {full.stoi:.2f}"
    assert titles[2] == "rvq-lab: tokens, 32 codebooks at 75 Hz"
    assert titles[3].startswith(f"rvq-lab@4: reconstruction at {four.bitrate_kbps:g} kbps") and titles[4].startswith("rvq-lab@4: tokens, 4 codebooks")
    assert [ax.get_ylabel() for ax in panels] == ["frequency (kHz)"] * 2 + ["codebook", "frequency (kHz)", "codebook"]
    assert panels[-1].get_xlabel() == "time (s)"
    assert [ax.get_ylabel() for ax in bars] == ["level (dBFS)"] * 2 + ["token id", "level (dBFS)", "token id"]
    assert panels[0].get_xlim() == pytest.approx((0, speech.duration)) and panels[0].get_ylim() == pytest.approx((0, 12))
    # the grid shows the real token ids, in the window's token colours
    grid = panels[4].get_images()[0]
    codes = two_counts[1].encoding.codes
    ids = np.asarray(grid.get_array())
    assert ids.shape == (4, len(codes[0])) and (ids == np.stack(codes)).all()
    palette = token_palette(two_counts[1].encoding.info.codebook_size)
    assert np.allclose(grid.to_rgba(ids[0], bytes=True)[:, :3], palette[codes[0], :3], atol=1)
    width, height = fig.get_size_inches() * DPI
    assert png_size(comparison_png(speech, two_counts)) == (round(width), round(height)) and width == 1000


def test_html_report_embeds_each_figure_and_shows_readable_headers(speech, two_counts):
    from explorer.services.report import html_report

    page = html_report("test", speech, two_counts)
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]*)"', page)
    assert [alt for alt, _ in images] == ["original spectrogram", "rvq-lab spectrogram and token grid",
                                          "rvq-lab@4 spectrogram and token grid"]
    assert all(png_size(base64.b64decode(data))[0] == 1000 for _, data in images)
    headers = re.findall(r"<th>([^<]*)</th>", page)
    assert {"SI-SDR (dB)", "STOI", "bitrate (kbps)", "tokens/s", "mel distance"} <= set(headers)
    text = re.sub(r'src="data:[^"]*"', "", page)
    assert not [h for h in headers if "_" in h] and not re.search(r"\bnan\b", text, re.IGNORECASE)


def test_compare_dialog_shows_readable_headers_and_the_figure(qtbot, speech, two_counts):
    from PySide6.QtWidgets import QWidget

    from explorer.services.report import Comparison, comparison_png
    from explorer.ui.classroom import CompareDialog

    parent = QWidget()
    qtbot.addWidget(parent)
    comparison = Comparison(two_counts, comparison_png(speech, two_counts))
    dialog = CompareDialog(parent, speech, "speech", lambda clip, names, done, failed: done(comparison),
                           lambda *args: None, lambda clip: None)
    dialog.run_compare(["rvq-lab", "rvq-lab@4"])
    headers = [dialog.table.horizontalHeaderItem(j).text() for j in range(dialog.table.columnCount())]
    assert headers[:2] == ["key", "codec"] and "SI-SDR (dB)" in headers and "STOI" in headers
    assert not [h for h in headers if "_" in h]
    assert dialog.table.horizontalHeaderItem(headers.index("SI-SDR (dB)")).toolTip() == "si_sdr_db in the CSV"
    assert dialog.picture.pixmap().width() == 1000


@pytest.fixture
def dock(qtbot, loaded, speech):
    """The experiments panel, running each experiment on rvq-lab right away (no worker thread)."""
    from explorer.services.experiments import run
    from explorer.ui.experiments_dock import ExperimentsDock

    panel = ExperimentsDock(lambda name, done, failed: done(run(name, [loaded("rvq-lab")], speech)), lambda clip: None)
    qtbot.addWidget(panel)
    panel.resize(380, 900)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def tick_labels(panel, axis: str) -> list[tuple[float, str]]:
    return list(panel.plot.getAxis(axis)._tickLevels[0])


def test_semantic_experiment_plots_a_pair_of_bars_per_step_labelled_by_step(dock):
    import pyqtgraph as pg

    dock.start("semantic")
    exp = dock.experiment
    assert len({r["kbps"] for r in exp.table}) == 1  # every step is heard at the same bitrate
    bars = [item for item in dock.plot.getPlotItem().items if isinstance(item, pg.BarGraphItem)]
    assert len(bars) == 2  # STOI and SI-SDR
    for item in bars:
        x = item.opts["x"]
        assert len(x) == 3 and len(set(np.round(x, 3))) == 3  # one bar per step, not a stack at one x
    assert [label for _, label in tick_labels(dock, "bottom")] == ["unchanged", "random 0", "random 31"]
    assert bars[0].opts["height"] == pytest.approx([r["stoi"] for r in exp.table])
    lo, hi = (-10, 20)  # rvq-lab's SI-SDR on this clip lies between, 0 dB included
    assert [label for _, label in tick_labels(dock, "right")] == [f"{v}" for v in range(lo, hi + 1, 10)]
    tops = np.asarray(bars[1].opts["y0"]) + np.asarray(bars[1].opts["height"])
    assert tops * (hi - lo) + lo == pytest.approx([r["si_sdr_db"] for r in exp.table])  # read on the right axis
    headers = [dock.table.horizontalHeaderItem(j).text() for j in range(dock.table.columnCount())]
    assert headers == ["randomized", "kbps heard", "SI-SDR (dB)", "STOI", "mel distance"]


def test_ladder_plot_ticks_at_measured_bitrates_without_overlap_or_a_legend(dock):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QFontMetrics

    dock.start("ladder")
    item = dock.plot.getPlotItem()
    assert item.legend is None and len(item.listDataItems()) == 2 + 2  # the ladder's two lines, Opus's two sets of stars
    stars = [d for d in item.listDataItems() if d.opts["symbol"] == "star"]
    assert len(stars) == 2 and all(d.opts["pen"] is None for d in stars)  # points apart, never joined to the line
    import pyqtgraph as pg

    labels = [i.textItem.toPlainText() for i in item.items if isinstance(i, pg.TextItem)]
    assert labels == ["Opus 6", "Opus 12", "Opus 20"]
    assert item.getAxis("left").labelText == "STOI" and item.getAxis("right").labelText == "SI-SDR (dB)"
    ticks = tick_labels(dock, "bottom")
    assert [label for _, label in ticks] == [f"{r['kbps']:.3g}" for r in dock.experiment.table]
    metrics = QFontMetrics(item.getAxis("bottom").style["tickFont"] or dock.plot.font())
    xs = [item.vb.mapViewToScene(QPointF(v, 0)).x() for v, _ in ticks]
    widths = [metrics.horizontalAdvance(label) for _, label in ticks]
    gaps = [b - a - (wa + wb) / 2 for a, b, wa, wb in zip(xs, xs[1:], widths, widths[1:])]
    assert min(gaps) > 4, (xs, widths)  # at 380 pixels wide, every label has room
    assert "kbps heard" in item.getAxis("bottom").labelText


def test_semantic_narration_follows_the_codec(loaded, speech):
    from explorer.services.experiments import narration, semantic_vs_acoustic

    exp = semantic_vs_acoustic(loaded("rvq-lab"), speech)
    assert not loaded("rvq-lab").info.semantic_codebooks
    text = narration(exp)
    assert "marks no codebook as semantic" in exp.intro and "intelligibility lives in" not in text.lower()
    assert "has no semantic codebook" in exp.conclusion and "coarsest acoustic" in exp.table[1]["randomized"]
    base, first, last = exp.table
    assert f"cost {base['stoi'] - first['stoi']:.2f} STOI" in exp.conclusion
    assert f"codebook 31 cost {base['stoi'] - last['stoi']:.2f} STOI" in exp.conclusion
    assert "the waveform (SI-SDR) as well as the words" in exp.conclusion  # measured: SI-SDR fell most too
    assert not shows_nan(text)
    exp = semantic_vs_acoustic(loaded("mimi"), speech)
    assert loaded("mimi").info.semantic_codebooks == (0,)
    assert "no semantic codebook" not in narration(exp) and "(semantic)" in exp.table[1]["randomized"]
    assert any(s in exp.conclusion for s in ("the semantic codebook", "the semantic one", "is small here"))
