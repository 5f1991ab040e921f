"""The ``codec-explorer`` command line.

No subcommand opens the window on the bundled clip; ``open`` opens it on a file. Subcommands
``codecs``, ``encode``, ``decode`` and ``roundtrip`` work without a display. A user mistake prints one line on stderr and exits with status 2;
long work shows a progress bar on a terminal. ``check-weights`` exits with status 1 when a check fails or
missing weights cannot be downloaded.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, NoReturn

import explorer
from explorer.core.edits import MAX_SEED
from explorer.core.errors import ExplorerError

log = logging.getLogger(__name__)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated codebook numbers, got '{text}'") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"codebooks are numbered from 0; got '{text}'")
    return values


def _ranged(convert: Callable[[str], float], lo: float, hi: float, what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)`` within ``[lo, hi]`` and finite, else "expected WHAT"."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
            ok = math.isfinite(value) and lo <= value <= hi
        except (ValueError, OverflowError):
            ok = False
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
        return value

    return parse


_count = _ranged(int, 1, math.inf, "a whole number of 1 or more")
_seed = _ranged(int, 0, MAX_SEED, f"a whole number from 0 to {MAX_SEED}")
_seconds = _ranged(float, 0.0, math.inf, "a time in seconds, 0 or more")
_positive_seconds = _ranged(float, 0.001, math.inf, "a time in seconds above 0")
_kbps = _ranged(int, -math.inf, math.inf, "a bitrate in whole kbps, like 12")
"""Any whole number: the codec says which it takes (:meth:`CodecInfo.kbps_setting`), in its own words."""


def _add_edit_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("edits (codebooks are numbered from 0)")
    g.add_argument("--mute", type=_int_list, default=[], metavar="K,K", help="remove these codebooks' contributions")
    g.add_argument("--solo", type=_int_list, default=[], metavar="K,K", help="hear only these codebooks")
    g.add_argument("--keep", type=_count, default=None, metavar="N", help="keep only the first N codebooks (bitrate ladder)")
    g.add_argument("--randomize", type=_int_list, default=[], metavar="K,K", help="replace these codebooks' codes with uniform random ones")
    g.add_argument("--seed", type=_seed, default=None,
                   help="seed for --randomize and for codecs that inject noise (default: the token file's, else 0)")
    g.add_argument("--start", type=_seconds, default=None, metavar="SEC", help="apply the edits from this time on")
    g.add_argument("--end", type=_seconds, default=None, metavar="SEC", help="apply the edits up to this time")


def _add_codec_flags(p: argparse.ArgumentParser, with_codec: bool = True) -> None:
    from explorer.codecs.registry import CODEC_NAMES, DEFAULT_CODEC

    if with_codec:
        p.add_argument("-c", "--codec", default=DEFAULT_CODEC, help=f"one of: {', '.join(CODEC_NAMES)} (default {DEFAULT_CODEC})")
    p.add_argument("--weights", default=None, metavar="PATH", help="a local checkpoint in the package's format (file or folder)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")


AUDIO_OUTPUT_HELP = "audio file to write: .wav (24-bit PCM, or 32-bit float with --float), .flac, .ogg, .aiff or .mp3"


def _add_kbps_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kbps", type=_kbps, default=None,
                   help="Opus only: its bitrate setting in kbps (6 to 256, default 20); token codecs set theirs with codebooks")


def _add_float_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--float", dest="float_samples", action="store_true",
                   help="write 32-bit float samples (.wav, .aiff): peaks over full scale and every bit kept (default: 24-bit PCM)")


def _add_speech_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--speech", choices=("auto", "yes", "no"), default="auto",
                   help="whether the input is speech: PESQ applies only to speech, and ViSQOL runs in speech mode on it "
                        "(default auto: judged from the input)")


def _speech(args: argparse.Namespace) -> bool | None:
    """``--speech``: True, False, or None to judge from the input."""
    return {"yes": True, "no": False}.get(args.speech)


def _subtype(args: argparse.Namespace) -> str | None:
    """The subtype the audio outputs are written in: 32-bit float when asked for, else the format's default."""
    from explorer.core.audio import FLOAT

    return FLOAT if getattr(args, "float_samples", False) else None


class _Parser(argparse.ArgumentParser):
    """argparse with a refusal on one line of ours (``codec-explorer: error: …``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        sub = self.prog.removeprefix("codec-explorer").strip()
        self.exit(2, f"codec-explorer: error: {sub + ': ' if sub else ''}{message} (see {self.prog} --help)\n")


def _add_file_commands(sub: Any) -> None:
    """``encode``, ``decode`` and ``roundtrip``: the commands from one file to another."""
    p = sub.add_parser("encode", help="encode audio to a token file (.npz)")
    p.add_argument("input")
    _add_codec_flags(p)
    p.add_argument("-n", "--codebooks", type=_count, default=None, help="number of codebooks (the bandwidth)")
    p.add_argument("-o", "--output", required=True, help="token file to write (.npz)")

    p = sub.add_parser("decode", help="decode a token file to audio, optionally with edits")
    p.add_argument("tokens")
    _add_codec_flags(p, with_codec=False)
    _add_edit_flags(p)
    p.add_argument("-o", "--output", required=True, help=AUDIO_OUTPUT_HELP)
    _add_float_flag(p)

    p = sub.add_parser("roundtrip", help="encode and decode audio, with edits, and print quality metrics")
    p.add_argument("input")
    _add_codec_flags(p)
    p.add_argument("-n", "--codebooks", type=_count, default=None, help="number of codebooks (the bandwidth)")
    _add_kbps_flag(p)
    _add_edit_flags(p)
    p.add_argument("-o", "--output", default=None, help=AUDIO_OUTPUT_HELP)
    _add_float_flag(p)
    _add_speech_flag(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")

    p = sub.add_parser("stats", help="per codebook: entropy, utilization, bitrate, energy share and the RVQ residual curve",
                       description="residual_after of codebook k: the share of the latent's energy still missing after "
                                   "codebooks 0..k (sum_t |L - sum_{j<=k} c_j|^2 / sum_t |L|^2, L the sum of all contributions)")
    p.add_argument("input")
    _add_codec_flags(p)
    p.add_argument("-n", "--codebooks", type=_count, default=None, help="number of codebooks (the bandwidth)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="codec-explorer", description="See and hear what neural audio codecs do with your audio.")
    ap.add_argument("--version", action="version", version=f"codec-explorer {explorer.__version__}")
    ap.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = ap.add_subparsers(dest="command")

    p = sub.add_parser("open", help="open the explorer window on an audio file")
    p.add_argument("input", nargs="?", default=None, help="audio file (default: the bundled speech clip)")
    p.add_argument("-c", "--codec", default=None, help="codec to start with (default: the last one used, or rvq-lab)")
    p.add_argument("--screenshot", default=None, metavar="PNG", help="render the window to this PNG once decoded, then exit")
    p.add_argument("--spectrogram", choices=("original", "reconstruction", "difference"), default=None, help="which spectrogram to show")
    p.add_argument("--grid", choices=("ids", "similarity", "energy"), default=None,
                   help="colour the token grid by token id, by similarity of what each code adds, or by its energy")
    p.add_argument("--select", nargs=2, type=_seconds, default=None, metavar=("START", "END"),
                   help="select this time range (seconds) once the clip is open")
    _add_edit_flags(p)

    p = sub.add_parser("live", help="encode and decode the microphone live; monitor and record the take")
    _add_codec_flags(p)
    _add_kbps_flag(p)
    _add_edit_flags(p)
    p.add_argument("--seconds", type=_positive_seconds, default=None, help="stop after this long (default: Ctrl+C)")
    p.add_argument("--record", default=None, metavar="DIR", help="write input.wav, reconstruction.wav and tokens.npz here")
    p.add_argument("--monitor", choices=("reconstruction", "input", "off"), default="reconstruction", help="what to play on the output")
    p.add_argument("--input-device", type=int, default=None, help="input device number (default: the system's)")
    p.add_argument("--output-device", type=int, default=None, help="output device number (default: the system's)")

    p = sub.add_parser("codecs", help="list the codecs, their rates and codebooks, and whether weights are here")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    _add_file_commands(sub)

    p = sub.add_parser("compare", help="several codecs on one clip: table (CSV), picture (PNG) and an HTML report")
    p.add_argument("input")
    p.add_argument("-c", "--codec", action="append", required=True, metavar="NAME[@N]",
                   help="a codec, optionally with N codebooks, or Opus at N kbps (repeat: -c rvq-lab@8 -c mimi -c opus@12)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for comparison.csv/.png, report.html and the WAVs")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    _add_float_flag(p)
    _add_speech_flag(p)
    p.set_defaults(weights=None)  # several codecs: each from its own cache

    p = sub.add_parser("install-desktop", help="add Codec Explorer to the desktop's menu and file managers' 'Open with'")
    p.add_argument("--uninstall", action="store_true", help="remove the menu entry and icon again")

    from explorer.services.weight_check import CHECKED_CODECS

    p = sub.add_parser("check-weights", help="fetch the pretrained weights (or use the cached ones) and check they behave as published",
                       description="Before a class, on a computer with internet: each checked codec's weights are taken from "
                                   "its cache or downloaded, then measured on the bundled speech against published figures. "
                                   "Exit status 0: all passed; 1: a check failed, or missing weights could not be downloaded.")
    p.add_argument("-c", "--codec", action="append", default=None, choices=CHECKED_CODECS, metavar="NAME",
                   help=f"check only this codec (repeat for more): {', '.join(CHECKED_CODECS)} (default: all)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("diagnostics", help="print versions, the device, audio devices and weight caches (for bug reports)")
    p.add_argument("--device", default="auto", help="the device to report on (default auto)")

    from explorer.services.experiments import EXPERIMENTS

    p = sub.add_parser("experiment", help="run a guided experiment and write its narration, table and sounds",
                       description="; ".join(f"{k}: {v}" for k, v in EXPERIMENTS.items()))
    p.add_argument("name", choices=list(EXPERIMENTS))
    p.add_argument("input", nargs="?", default=None, help="audio file (default: the bundled English speech)")
    p.add_argument("-c", "--codec", action="append", default=None, metavar="NAME",
                   help="codec (repeat for frame-rates and exercise-hard; default rvq-lab, or the codecs an exercise names)")
    p.add_argument("--other", default=None, help="transplant: clip B (default: the bundled German speech)")
    p.add_argument("--keep", type=_count, default=1, help="transplant: codebooks taken from A (default 1)")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.set_defaults(weights=None)
    return ap


class _Bar:
    """A tqdm bar on a terminal, silence elsewhere; usable as an engine progress callback."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.label = ""

    def __call__(self, fraction: float, what: str) -> bool:
        if not sys.stderr.isatty():
            return True
        from tqdm import tqdm

        if what != self.label:
            self.close()
            self.bar = tqdm(total=100, desc=what, unit="%", leave=False)
            self.label = what
        self.bar.n = int(fraction * 100)
        self.bar.refresh()
        return True

    def step(self, fraction: float, what: str) -> None:
        """The bar as a callback that returns nothing."""
        self(fraction, what)

    def download(self, done: int, total: int) -> bool:
        return self(done / total if total else 0.0, "Downloading weights")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.label = ""


def _edits(args: argparse.Namespace) -> Any:
    from explorer.core.edits import Edits

    return Edits(mute=frozenset(args.mute), solo=frozenset(args.solo), randomize=frozenset(args.randomize),
                 keep=args.keep, seed=args.seed or 0, start=args.start, end=args.end)


def _inputs(args: argparse.Namespace) -> list[str | None]:
    """Every file this command reads: an output may be none of them."""
    return [getattr(args, name, None) for name in ("input", "tokens", "weights", "other")]


def _check_audio_output(args: argparse.Namespace) -> None:
    """Refuse a bad ``-o`` before any work: an unknown extension, an input, a folder, a missing folder."""
    from explorer.core.audio import output_format
    from explorer.core.output import check_output

    if args.output:
        check_output(args.output, _inputs(args))
        output_format(args.output, _subtype(args))


def _check_settings(args: argparse.Namespace, edits: bool = True) -> None:
    """Refuse, before any load, a setting the codec does not have: ``--kbps`` for a token codec,
    codebooks or (for a command with ``edits``) edits for Opus, a bitrate outside Opus's range."""
    from explorer.codecs.registry import entry
    from explorer.services.engine import refuse_edits

    info = entry(args.codec).info()
    info.kbps_setting(getattr(args, "kbps", None), getattr(args, "codebooks", None))
    if edits:
        refuse_edits(info, _edits(args))


def _engine(name: str, args: argparse.Namespace, bar: _Bar, live: bool = False) -> Any:
    """Load codec ``name`` as the flags say; for ``live``, one that can stream (else the refusal, before any load)."""
    from explorer.services.live import open_live
    from explorer.services.session import CodecChoice, open_engine

    return (open_live if live else open_engine)(CodecChoice(name, device=args.device, weights=args.weights), bar.download)


def cmd_codecs(args: argparse.Namespace) -> int:
    from explorer.codecs.registry import CODEC_NAMES, entry, weights_available

    rows: list[dict[str, Any]] = []
    for name in CODEC_NAMES:
        info = entry(name).info()
        rows.append({
            "name": name,
            "family": info.family,
            "tokens": info.tokens,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "frame_rates": info.frame_rates(info.max_codebooks) if info.tokens else [info.latent_frame_rate],
            "codebooks_max": info.max_codebooks,
            "codebooks_default": info.default_codebooks,
            "codebook_choices": list(info.codebook_choices),
            "codebook_size": info.codebook_size,
            "kbps_default": round(info.bitrate() / 1000, 3) if info.tokens else info.default_kbps,
            "kbps_max": round(info.bitrate(info.max_codebooks) / 1000, 3) if info.tokens else info.kbps_range[1],
            "kbps_choices": list(info.kbps_choices),
            "semantic_codebooks": list(info.semantic_codebooks),
            "weights_local": weights_available(name),
            "licence": info.licence,
            "description": info.description,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'codec':<{width}} {'rate':>6} {'ch':>2} {'frame rate (Hz)':<24} {'codebooks':>11} {'size':>5} {'kbps':>11}  {'weights':<8}  licence")
    for r in rows:
        rates = "/".join(f"{v:.4g}" for v in r["frame_rates"]) + ("" if r["tokens"] else " (packets)")
        cbs = f"{r['codebooks_default']} of {r['codebooks_max']}" if r["tokens"] else "none"
        kbps = f"{r['kbps_default']:.3g}" + (f" of {r['kbps_max']:.3g}" if r["kbps_max"] != r["kbps_default"] else "")
        local = ("built in" if r["family"] == "rvq-lab" else "none needed: reference codec, no tokens" if not r["tokens"]
                 else "local" if r["weights_local"] else "download")
        size = r["codebook_size"] if r["tokens"] else "–"
        print(f"{r['name']:<{width}} {r['sample_rate']:>6} {r['channels']:>2} {rates:<24} {cbs:>11} {size:>5} {kbps:>11}  {local:<8}  {r['licence'] or 'not stated'}")
    print("\nCodebook 0 is semantic in Mimi (WavLM-distilled) and SpeechTokenizer (HuBERT-distilled); "
          "SNAC's codebooks run at their own frame rates. Opus is the reference: it codes the waveform in "
          "20 ms packets (no tokens) at a bitrate you set with --kbps.")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from explorer.codecs.registry import entry
    from explorer.services.engine import refuse_token_file
    from explorer.core.audio import load_audio
    from explorer.core.tokens import save_tokens

    from explorer.core.output import check_output

    check_output(args.output, _inputs(args))
    if not str(args.output).lower().endswith(".npz"):
        raise ExplorerError(f"Token files end in .npz; name the output like tokens.npz, not '{args.output}'.")
    _check_settings(args, edits=False)
    refuse_token_file(entry(args.codec).info())
    bar = _Bar()
    clip = load_audio(args.input)
    engine = _engine(args.codec, args, bar)
    enc = engine.encode(clip, args.codebooks, bar)
    bar.close()
    save_tokens(args.output, enc.codes, enc.meta(), _inputs(args))
    _say_notes(enc.notes)
    print(f"{args.output}: {enc.n_codebooks} codebooks x {len(enc.codes[-1])} frames, {enc.bitrate / 1000:.2f} kbps")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from explorer.core.audio import save_audio
    from explorer.core.edits import Edits
    from explorer.core.provenance import write_sidecar
    from explorer.core.tokens import load_tokens

    _check_audio_output(args)
    codes, meta = load_tokens(args.tokens)
    bar = _Bar()
    engine = _engine(meta["codec"], args, bar)
    enc = engine.from_tokens(codes, meta)
    _say_notes(enc.notes)
    edits = _edits(args)
    if edits.is_identity and "edits" in meta:
        saved = Edits.from_dict(meta["edits"])
        edits = Edits.from_dict({**saved.to_dict(), "seed": saved.seed if args.seed is None else args.seed})
    out = engine.decode(enc, edits, bar)
    bar.close()
    _say_notes(save_audio(args.output, out, _subtype(args), _inputs(args)))
    write_sidecar(args.output, enc.provenance(edits), _inputs(args))
    print(f"{args.output}: {out.duration:.2f} s at {out.sample_rate} Hz")
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from explorer.core.audio import load_audio, save_audio
    from explorer.core.metrics import codebook_stats, fmt, reconstruction_quality
    from explorer.core.perceptual import slow_quality
    from explorer.core.provenance import write_sidecar

    _check_audio_output(args)
    _check_settings(args)
    bar = _Bar()
    clip = load_audio(args.input)
    engine = _engine(args.codec, args, bar)
    t0 = time.perf_counter()
    enc = engine.encode(clip, args.codebooks, bar, args.kbps)
    t1 = time.perf_counter()
    edits = _edits(args)
    out = engine.decode(enc, edits, bar)
    t2 = time.perf_counter()
    bar.close()
    record = enc.provenance(edits)
    saved: tuple[str, ...] = ()
    if args.output:
        saved = save_audio(args.output, out, _subtype(args), _inputs(args))
        write_sidecar(args.output, record, _inputs(args))
    q = reconstruction_quality(clip, out)
    slow = slow_quality(clip, out, _speech(args), q.delay_samples)
    stats = codebook_stats(enc.codes, engine.info.codebook_size, enc.duration) if engine.info.tokens else []
    result = {
        "codec": engine.info.name,
        "device": str(engine.codec.device),
        "input": {"path": args.input, "sample_rate": clip.sample_rate, "channels": clip.channels, "seconds": round(clip.duration, 3)},
        "converted": list(dict.fromkeys(clip.notes + enc.notes)),
        "codebooks": enc.n_codebooks,
        "bitrate_bps": round(enc.bitrate, 1),
        "kbps_setting": enc.packets.kbps if enc.packets else None,
        "packets": len(enc.packets.data) if enc.packets else None,
        "edits": edits.to_dict(),
        "metrics": {**q.to_dict(), **slow.to_dict()},
        "encode_seconds": round(t1 - t0, 3),
        "decode_seconds": round(t2 - t1, 3),
        "pesq_visqol_seconds": round(slow.seconds, 3),
        "per_codebook": [dict(index=k, role=engine.info.role(k), **s.to_dict()) for k, s in enumerate(stats)],
        "notes": list(clip.notes) + q.note_lines() + slow.note_lines() + list(saved),
        "provenance": record,
    }
    _say_notes(tuple(n for n in result["converted"] if n not in clip.notes))
    if args.json:
        print(json.dumps(finite(result), indent=2, allow_nan=False))
        return 0
    print(f"{engine.info.name}: {_setting_text(enc)}, encode {t1 - t0:.2f} s, decode {t2 - t1:.2f} s for {clip.duration:.2f} s of audio")
    print(f"SI-SDR {fmt(q.si_sdr, '6.2f', ' dB')}   mel distance {fmt(q.mel_distance, '.3f')}   STOI {fmt(q.stoi, '.3f')}   "
          f"delay {q.delay_samples} samples")
    print(f"PESQ {fmt(slow.pesq, '.2f')} wide band, {fmt(slow.pesq_nb, '.2f')} narrow band   "
          f"ViSQOL {fmt(slow.visqol, '.2f')} ({slow.visqol_mode} mode)   in {slow.seconds:.1f} s")
    for line in result["notes"]:
        print(f"  {line}")
    if args.output:
        print(f"wrote {args.output}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from explorer.core.audio import load_audio
    from explorer.core.edits import Edits
    from explorer.core.metrics import fmt
    from explorer.services.token_stats import per_codebook

    bar = _Bar()
    clip = load_audio(args.input)
    engine = _engine(args.codec, args, bar)
    enc = engine.encode(clip, args.codebooks, bar)
    bar.close()
    rows = per_codebook(engine, enc)
    result = {"codec": engine.info.name, "codebooks": enc.n_codebooks, "seconds": round(clip.duration, 3),
              "bitrate_bps": round(enc.bitrate, 1), "per_codebook": rows, "provenance": enc.provenance(Edits())}
    _say_notes(enc.notes)
    if args.json:
        print(json.dumps(finite(result), indent=2, allow_nan=False))
        return 0
    print(f"{engine.info.name}: {enc.n_codebooks} codebooks, {enc.bitrate / 1000:.2f} kbps, {clip.duration:.2f} s")
    print(f"{'k':>3} {'entropy (bits)':>14} {'used':>6} {'bitrate':>9} {'energy share':>12} {'residual after':>14}  role")
    for r in rows:
        print(f"{r['index']:>3} {r['entropy_bits']:>14.2f} {100 * r['utilization']:>5.1f}% {r['bitrate']:>9.1f} "
              f"{fmt(r['energy_share'], '12.4f')} {fmt(r['residual_after'], '14.4f')}  {r['role']}")
    if any(r["energy_share"] is None for r in rows):
        print("  n/a: the latent is all zeros (a silent clip), so no codebook carries a share of it")
    return 0


def _setting_text(enc: Any) -> str:
    """``8 codebooks, 6.00 kbps``, or Opus's ``20 kbps setting, 20.89 kbps measured from 320 packets of 20 ms``."""
    from explorer.services.engine import packet_ms

    if enc.packets is None:
        return f"{enc.n_codebooks} codebooks, {enc.bitrate / 1000:.2f} kbps"
    return (f"{enc.packets.kbps} kbps setting, {enc.bitrate / 1000:.2f} kbps measured from {len(enc.packets.data)} "
            f"packets of {packet_ms(enc.info)} ms")


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON has no NaN or Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _say_notes(notes: tuple[str, ...]) -> None:
    if notes:
        print("converted: " + "; ".join(notes), file=sys.stderr)


def cmd_live(args: argparse.Namespace) -> int:
    from explorer.services.live_run import FEEDBACK_WARNING, LiveRun, live_status

    _check_settings(args)
    bar = _Bar()
    engine = _engine(args.codec, args, bar, live=True)
    run = LiveRun(engine, Path(args.record) if args.record else None, args.monitor, _edits(args),
                  args.input_device, args.output_device, kbps=args.kbps)
    run.start()
    info = engine.info
    print(f"live: {info.name} on {engine.codec.device}, algorithmic latency {1000 * run.live.latency / info.sample_rate:.0f} ms, "
          f"input {run.capture.rate} Hz, monitor {run.monitor}. Ctrl+C stops.", file=sys.stderr)
    if run.feedback_risk:
        print(f"live: warning: {FEEDBACK_WARNING}", file=sys.stderr)
    t0 = last = time.perf_counter()
    try:
        while args.seconds is None or time.perf_counter() - t0 < args.seconds:
            if not run.poll():
                print("live: the input device stopped delivering audio; saving what was captured.", file=sys.stderr)
                break
            time.sleep(0.01)
            if time.perf_counter() - last >= 1.0:
                last = time.perf_counter()
                print("live: " + live_status(run), file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        folder = run.stop()
    if folder:
        tokens = ", tokens.npz" if info.tokens else f" (no tokens.npz: {info.spoken} has no tokens)"
        print(f"recorded {folder}/input.wav, reconstruction.wav{tokens} ({run.stats.seconds:.1f} s)")
    if run.device_lost:
        # PortAudio's teardown at exit can block forever on a vanished JACK server: leave without it
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from explorer.core.audio import load_audio, save_audio
    from explorer.services.compare import check_spec, compare, comparison_provenance, parse_spec, write_csv
    from explorer.core.metrics import fmt
    from explorer.core.output import prepare_folder, write_bytes, write_text
    from explorer.core.edits import Edits
    from explorer.core.provenance import write_sidecar
    from explorer.services.report import comparison_png, html_report

    out = prepare_folder(args.output)  # an output that cannot be written is refused first, before any codec is read
    specs = [check_spec(parse_spec(c)) for c in args.codec]
    bar = _Bar()
    clip = load_audio(args.input)
    _say_notes(clip.notes)
    engines = [(_engine(name, args, bar), n) for name, n in specs]
    results = compare(engines, clip, lambda i, total, name: bar.step(i / total, f"Comparing ({name})"), _speech(args))
    bar.close()
    rows = [r.row for r in results]
    record = comparison_provenance(results)
    write_csv(rows, out / "comparison.csv", [args.input], record)
    write_bytes(out / "comparison.png", comparison_png(clip, results), [args.input])
    write_text(out / "report.html", html_report(f"Codec comparison: {Path(args.input).name}", clip, results, record), [args.input])
    names: set[str] = set()
    for r in results:
        stem = base = r.row.codec.replace("@", "-")
        while stem in names:  # the same codec twice: rvq-lab.wav, rvq-lab-2.wav
            stem = f"{base}-{len([n for n in names if n.startswith(base)]) + 1}"
        names.add(stem)
        save_audio(out / f"{stem}.wav", r.reconstruction, _subtype(args), [args.input])
        write_sidecar(out / f"{stem}.wav", r.encoding.provenance(Edits()), [args.input])
    print(f"{'codec':<18} {'kbps':>7} {'tok/s':>7} {'SI-SDR':>7} {'STOI':>6} {'mel':>6} {'PESQ':>5} {'PESQnb':>6} "
          f"{'ViSQOL':>6} {'enc s':>6} {'dec s':>6}")
    for row in rows:
        print(f"{row.codec:<18} {row.bitrate_kbps:>7.2f} {fmt(row.tokens_per_second, '.1f'):>7} {fmt(row.si_sdr_db, '.2f'):>7} "
              f"{fmt(row.stoi, '.3f'):>6} {fmt(row.mel_distance, '.3f'):>6} {fmt(row.pesq, '.2f'):>5} {fmt(row.pesq_nb, '.2f'):>6} "
              f"{fmt(row.visqol, '.2f'):>6} {row.encode_seconds:>6.2f} {row.decode_seconds:>6.2f}")
    for r in results:
        for line in r.note_lines():
            print(f"  {r.row.codec}: {line}")
    print(f"wrote {out}/comparison.csv, comparison.png, report.html and one WAV per codec, each table and WAV "
          "with its .provenance.json")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from explorer.services import experiments as ex
    from explorer.core.audio import load_audio
    from explorer.core.resources import resource

    from explorer.core.output import prepare_folder

    folder = prepare_folder(args.output)
    bar = _Bar()
    clip = load_audio(args.input or resource("clips", "speech_en.wav"))
    names = args.codec or ex.DEFAULT_CODECS.get(args.name, ["rvq-lab"])
    engines = [_engine(n, args, bar) for n in names]
    exp = ex.run(args.name, engines, clip, load_audio(args.other) if args.other else None, args.keep)
    files = ex.write_experiment(exp, folder, [args.input, args.other])
    print(ex.narration(exp))
    print(f"wrote {len(files)} files to {args.output}")
    return 0


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from explorer import desktop

    try:
        if args.uninstall:
            removed = desktop.uninstall()
            print("removed " + ", ".join(map(str, removed)) if removed else "nothing to remove: the menu entry was not installed")
            return 0
        written = desktop.install()
    except OSError as exc:
        where = f" ('{exc.filename}')" if exc.filename else ""
        raise ExplorerError(f"Could not {'remove' if args.uninstall else 'install'} the menu entry: "
                            f"{exc.strerror or exc}{where}. Check $XDG_DATA_HOME and ~/.local/share.") from None
    for path in written:
        print(f"wrote {path}")
    print("Codec Explorer is in your desktop's menu (Sound & Video); audio files offer 'Open with Codec Explorer'.")
    return 0


def cmd_check_weights(args: argparse.Namespace) -> int:
    from explorer.services.weight_check import check_weights

    bar = _Bar()
    report = check_weights(args.codec, args.device, progress=bar.download, step=bar.step)
    bar.close()
    if args.json:
        print(json.dumps(finite(report.to_dict()), indent=2, allow_nan=False))
    elif report.blocked:
        print(f"codec-explorer: {one_line(report.blocked)}", file=sys.stderr)
    else:
        print("\n".join(one_line(line) for line in report.lines()))
    return report.exit_code


def cmd_diagnostics(args: argparse.Namespace) -> int:
    from explorer.services.diagnostics import report

    print(report(args.device))
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    from explorer.ui.app import run

    select = None
    if args.select is not None:
        start, end = args.select
        if end <= start:
            raise ExplorerError(f"--select needs an end after its start; got {start:g} s to {end:g} s.")
        select = (start, end)
    return run(args.input, args.codec, args.screenshot, edits=_edits(args), spectrogram=args.spectrogram, grid=args.grid,
               select=select)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "open": cmd_open,
    "live": cmd_live,
    "codecs": cmd_codecs,
    "encode": cmd_encode,
    "decode": cmd_decode,
    "roundtrip": cmd_roundtrip,
    "stats": cmd_stats,
    "compare": cmd_compare,
    "experiment": cmd_experiment,
    "install-desktop": cmd_install_desktop,
    "check-weights": cmd_check_weights,
    "diagnostics": cmd_diagnostics,
}


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters shown escaped: a message stays one line,
    whatever a file name or a file's contents put into it."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM ends the command like Ctrl+C: ``finally`` blocks run and no temporary file is left."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        warnings.filterwarnings("ignore")  # the packages' own notes (torch's weight_norm, torchaudio's filterbanks)
    if args.command not in (None, "open"):
        signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.command is None:
            from explorer.ui.app import run

            return run(None, None)
        return COMMANDS[args.command](args)
    except ExplorerError as exc:
        print(f"codec-explorer: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codec-explorer: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("codec-explorer: error: ran out of memory; try a shorter clip or fewer codebooks.", file=sys.stderr)
        return 2
