"""Pictures and a standalone HTML report of a comparison, without Qt (the CLI writes them headless).

The PNG writer is the format's minimum (8-bit RGB, one IDAT, zlib); the report embeds every image
and every sound as a data: URI, so the one file can be mailed or put on a course page.
"""

from __future__ import annotations

import base64
import html
import io
import struct
import zlib
from dataclasses import asdict

import numpy as np
import soundfile as sf

from explorer.core.audio import Clip
from explorer.services.compare import Compared
from explorer.core.spectrogram import spectrogram_db
from explorer.core.metrics import fmt
from explorer.core.palettes import SPEC_LEVELS, colormap, token_palette
from explorer.core.types import AnyArray

def png_bytes(rgb: AnyArray) -> bytes:
    """Encode ``[height, width, 3]`` uint8 as a PNG."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def spectrogram_rgb(clip: Clip, width: int = 900, height: int = 160, max_hz: float = 12000.0) -> AnyArray:
    """The clip's spectrogram as an image, time across, low frequencies at the bottom."""
    db = spectrogram_db(clip.samples, clip.sample_rate)  # [frames, bins]
    bins = db.shape[1]
    top = max(2, int(bins * min(1.0, max_hz / (clip.sample_rate / 2))))
    cols = np.linspace(0, db.shape[0] - 1, width).astype(int)
    rows = np.linspace(top - 1, 0, height).astype(int)
    return colormap(db[cols][:, rows].T, *SPEC_LEVELS)


def grid_rgb(codes: list[AnyArray], size: int, width: int = 900, row_height: int = 6) -> AnyArray:
    """Token grid: one band per codebook (0 at the top), in the window's colours."""
    palette = token_palette(size)[:, :3]
    bands = []
    for row in codes:
        cols = np.linspace(0, max(len(row) - 1, 0), width).astype(int)
        band = palette[np.asarray(row)[cols]] if len(row) else np.zeros((width, 3), np.uint8)
        bands.append(np.repeat(band[None], row_height, axis=0))
    return np.concatenate(bands, axis=0)


def wav_bytes(clip: Clip) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(clip.samples.T, -1, 1), clip.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def comparison_png(original: Clip, results: list[Compared]) -> bytes:
    """The original's spectrogram, then each codec's reconstruction spectrogram and token grid, stacked."""
    gap = np.full((6, 900, 3), 255, np.uint8)
    parts = [spectrogram_rgb(original), gap]
    for r in results:
        parts += [spectrogram_rgb(r.reconstruction), grid_rgb(r.encoding.codes, r.encoding.info.codebook_size, row_height=3), gap]
    return png_bytes(np.concatenate(parts, axis=0))


def _uri(kind: str, data: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def html_report(title: str, original: Clip, results: list[Compared]) -> str:
    """A standalone page: the table, and for every codec its audio, spectrogram and token grid."""
    rows = [asdict(r.row) for r in results]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
    body = "".join("<tr>" + "".join(f"<td>{html.escape('n/a' if v is None else str(v))}</td>" for v in row.values()) + "</tr>"
                   for row in rows)
    sections = [f"""<section><h2>original</h2><audio controls src="{_uri('audio/wav', wav_bytes(original))}"></audio>
<img alt="original spectrogram" src="{_uri('image/png', png_bytes(spectrogram_rgb(original)))}"></section>"""]
    for r in results:
        name = html.escape(r.row.codec)
        sections.append(f"""<section><h2>{name}</h2>
<p>{r.row.bitrate_kbps} kbps, {r.row.tokens_per_second} tokens/s, SI-SDR {fmt(r.row.si_sdr_db, 'g', ' dB')}, STOI {fmt(r.row.stoi, 'g')}</p>
{''.join(f"<p>{html.escape(line)}</p>" for line in r.quality.note_lines())}
<audio controls src="{_uri('audio/wav', wav_bytes(r.reconstruction))}"></audio>
<img alt="{name} spectrogram" src="{_uri('image/png', png_bytes(spectrogram_rgb(r.reconstruction)))}">
<img alt="{name} token grid" src="{_uri('image/png', png_bytes(grid_rgb(r.encoding.codes, r.encoding.info.codebook_size)))}">
</section>""")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;background:#fafafa}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap;font-size:90%}} img{{display:block;margin:4px 0}}
section{{margin:1.5em 0}} audio{{width:900px}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Made by Codec Explorer. Every value is measured on this clip; the sounds and pictures are embedded.</p>
<table><tr>{head}</tr>{body}</table>
{''.join(sections)}
</body></html>
"""

