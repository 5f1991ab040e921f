"""The self-check for real weights: fetch each pretrained codec's weights, then check they behave as published.

Before a class, on a computer that can download, ``codec-explorer check-weights`` finds each checked
codec's weights in its cache or downloads them through the app's own path
(:func:`explorer.codecs.weights.download`: pinned commits, checked digests), loads them as the app
does, and measures on the bundled English speech what published measurements say the codec does.
The checks are data (:data:`CHECKS`), two kinds:

- :class:`Floor`: the wide-band PESQ (ITU-T P.862.2) of a plain round trip at a published codebook
  count must reach the published figure less :data:`PESQ_MARGIN` (0.5 MOS). The figures are the
  wide-band PESQ column of one comparison that measured all three codecs the same way (:data:`SOURCE`):
  EnCodec 24 kHz with 8 codebooks (6 kbps) 2.77, DAC 16 kHz with 12 (6 kbps) 4.01, Mimi with 8
  (1.1 kbps) 2.25. The margin allows for the clip: a few seconds of synthetic (espeak-ng) speech, not
  LibriSpeech. Random or mismatched weights score about 1.0 to 1.3, far below every floor.
- :class:`Contrast`: Mimi and SpeechTokenizer distil codebook 0 from a speech model (WavLM, HuBERT),
  so randomizing it must cost far more intelligibility than randomizing codebook 7: the STOI drop
  must be at least :data:`MIN_DROP` (0.10) and more than :data:`FACTOR` (2) times codebook 7's.

Weights already cached are checked as they are, without a download; only missing ones are fetched.
When some are missing and their server cannot be reached, nothing runs and :attr:`Report.blocked`
says why in one line. Every check of a codec whose weights could not be fetched or loaded fails, and
its row says why; a metric that cannot be measured is "n/a", with the reason, and fails too.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from explorer.codecs.registry import entry, load_codec
from explorer.codecs.weights import Progress as DownloadProgress, download, locate, offline_reason
from explorer.core.audio import Clip, load_audio
from explorer.core.device import describe_device, resolve_device
from explorer.core.edits import Edits
from explorer.core.errors import CancelledError, CodecError, ExplorerError
from explorer.core.metrics import Quality, fmt, reconstruction_quality
from explorer.core.perceptual import slow_quality
from explorer.core.resources import resource
from explorer.services.engine import Encoding, Engine

CLIP = "speech_en.wav"
"""The bundled clip the checks measure (English speech, about 6 s)."""
SOURCE = ("Ye et al. 2025, Llasa (arXiv:2502.04128), Table 1: codec reconstruction on LibriSpeech test-clean, "
          "wide-band PESQ")
PESQ_MARGIN = 0.5
"""How far below the published PESQ a floor lies (MOS points)."""
FACTOR = 2.0
"""Randomizing codebook 0 must cost more than this many times the STOI that randomizing codebook 7 costs."""
MIN_DROP = 0.10
"""... and at least this much STOI."""

METRICS = {"pesq": "PESQ wide band", "stoi": "STOI"}
"""What a :class:`Floor` can measure: wide-band PESQ (MOS 1..4.6) or STOI (0..1)."""


class Trials:
    """One codec's round trips of one clip: each encoding and each decode is made once, whichever checks share it."""

    def __init__(self, engine: Engine, clip: Clip) -> None:
        self.engine, self.clip = engine, clip
        self._encodings: dict[int, Encoding] = {}
        self._decodes: dict[tuple[int, Edits], tuple[Clip, Quality]] = {}

    def decoded(self, codebooks: int, edits: Edits) -> tuple[Clip, Quality]:
        """The clip encoded with ``codebooks`` codebooks, decoded under ``edits``, and its signal metrics."""
        key = (codebooks, edits)
        if key not in self._decodes:
            if codebooks not in self._encodings:
                self._encodings[codebooks] = self.engine.encode(self.clip, codebooks)
            out = self.engine.decode(self._encodings[codebooks], edits)
            self._decodes[key] = (out, reconstruction_quality(self.clip, out))
        return self._decodes[key]

    def measure(self, metric: str, codebooks: int, edits: Edits) -> tuple[float | None, str]:
        """``metric`` (a key of :data:`METRICS`) of that round trip, or None and why."""
        out, q = self.decoded(codebooks, edits)
        if metric == "stoi":
            return q.stoi, q.reason("stoi") or ""
        slow = slow_quality(self.clip, out, speech=True, delay=q.delay_samples, metrics=("pesq",))
        return slow.pesq, slow.reason("pesq") or ""


@dataclass(frozen=True)
class Outcome:
    """One check's row: what was measured, what is required, and whether it passed (``why``: what kept a value away)."""

    codec: str
    check: str
    measured: str
    required: str
    passed: bool
    why: str = ""
    values: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"codec": self.codec, "check": self.check, "measured": self.measured, "values": self.values,
                "required": self.required, "status": "PASS" if self.passed else "FAIL", "why": self.why or None}


def _bitrate(codec: str, codebooks: int) -> str:
    return f"{entry(codec).info().bitrate(codebooks) / 1000:.3g} kbps"


class _Check:
    """What every check has: the codec it is on, its label and its requirement, and a row saying it could not run."""

    codec: str

    @property
    def label(self) -> str:
        raise NotImplementedError

    @property
    def required(self) -> str:
        raise NotImplementedError

    def failed(self, why: str) -> Outcome:
        """The row of a check that could not run (the weights did not load or download): FAIL, and why."""
        return Outcome(self.codec, self.label, "n/a", self.required, False, why)


@dataclass(frozen=True)
class Floor(_Check):
    """A round trip's ``metric`` under ``edits`` must reach ``published`` less ``margin``."""

    codec: str
    codebooks: int
    published: float
    source: str = SOURCE
    metric: str = "pesq"
    margin: float = PESQ_MARGIN
    edits: Edits = Edits()

    @property
    def floor(self) -> float:
        return round(self.published - self.margin, 6)

    @property
    def label(self) -> str:
        edited = "" if self.edits.is_identity else ", edited"
        return f"{METRICS[self.metric]}, {self.codebooks} codebooks ({_bitrate(self.codec, self.codebooks)}){edited}"

    @property
    def required(self) -> str:
        return f"≥ {self.floor:.2f} (published {self.published:.2f} − {self.margin:g})"

    def run(self, trials: Trials) -> Outcome:
        value, why = trials.measure(self.metric, self.codebooks, self.edits)
        ok = value is not None and value >= self.floor
        return Outcome(self.codec, self.label, fmt(value, ".2f"), self.required, ok, why, {self.metric: value})


@dataclass(frozen=True)
class Contrast(_Check):
    """Randomizing codebook ``first`` must cost at least ``min_drop`` STOI, and more than ``factor`` times what
    randomizing codebook ``second`` costs (both against the unedited round trip with ``codebooks`` codebooks)."""

    codec: str
    codebooks: int
    first: int = 0
    second: int = 7
    factor: float = FACTOR
    min_drop: float = MIN_DROP
    seed: int = 0

    @property
    def label(self) -> str:
        return f"STOI drop, codebook {self.first} vs {self.second} randomized ({self.codebooks} codebooks)"

    @property
    def required(self) -> str:
        return f"drop {self.first} ≥ {self.min_drop:.2f} and > {self.factor:g} × drop {self.second}"

    def run(self, trials: Trials) -> Outcome:
        stoi = {}
        for key, edits in (("unedited", Edits()), ("first", Edits(randomize=frozenset({self.first}), seed=self.seed)),
                           ("second", Edits(randomize=frozenset({self.second}), seed=self.seed))):
            stoi[key], why = trials.measure("stoi", self.codebooks, edits)
            if stoi[key] is None:
                return self.failed(f"STOI of the {key if key == 'unedited' else 'edited'} round trip: {why}")
        base = stoi["unedited"] or 0.0
        drop_first, drop_second = base - (stoi["first"] or 0.0), base - (stoi["second"] or 0.0)
        ok = drop_first >= self.min_drop and drop_first > self.factor * drop_second
        values: dict[str, float | None] = {"stoi": base, f"drop_{self.first}": drop_first, f"drop_{self.second}": drop_second}
        return Outcome(self.codec, self.label, f"{fmt(drop_first, '.2f')} vs {fmt(drop_second, '.2f')}",
                       self.required, ok, "", values)


Check = Floor | Contrast

CHECKS: tuple[Check, ...] = (
    Floor("encodec-24khz", 8, 2.77),
    Floor("dac-16khz", 12, 4.01),
    Floor("mimi", 8, 2.25),
    Contrast("mimi", 8),
    Contrast("speechtokenizer", 8),
)
"""What ``check-weights`` checks, codec by codec, in this order."""
CHECKED_CODECS = tuple(dict.fromkeys(c.codec for c in CHECKS))


def run_checks(checks: Sequence[Check], engine: Engine, clip: Clip) -> list[Outcome]:
    """Run ``checks`` (all of one codec) with ``engine`` on ``clip``; a check that cannot run fails with its reason.

    Parameters
    ----------
    checks
        Rows of a check table such as :data:`CHECKS`, all naming ``engine``'s codec.
    engine
        The loaded codec.
    clip
        Speech to measure on.

    Returns
    -------
    list[Outcome]
        One row per check, in order.
    """
    trials = Trials(engine, clip)
    rows = []
    for check in checks:
        try:
            rows.append(check.run(trials))
        except CancelledError:
            raise
        except ExplorerError as exc:
            rows.append(check.failed(str(exc)))
    return rows


@dataclass(frozen=True)
class Fetched:
    """Where one codec's weights came from: ``state`` is "built in", "cached", "downloaded" or "failed"
    (``detail``: the files, or why it failed); ``weights`` names the file checked and its SHA-256."""

    codec: str
    state: str
    detail: str = ""
    weights: dict[str, str] | None = None


@dataclass(frozen=True)
class Report:
    """The outcome of ``check-weights``; ``blocked`` (one line) when it could not run at all."""

    outcomes: tuple[Outcome, ...] = ()
    fetched: tuple[Fetched, ...] = ()
    clip: str = ""
    device: str = ""
    blocked: str = ""

    @property
    def failed(self) -> int:
        return sum(not o.passed for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 when every check passed, 1 when any failed or none could run."""
        return 1 if self.blocked or self.failed else 0

    def summary(self) -> str:
        n, bad = len(self.outcomes), self.failed
        if not bad:
            return f"summary: all {n} checks passed: these weights behave as published."
        return (f"summary: {n - bad} of {n} checks passed, {bad} failed: those weights do not behave as published; "
                "delete their files (listed above) and run check-weights again to download them afresh, "
                "and if they fail again, report it with this output.")

    def lines(self) -> list[str]:
        """The report as text: weights, one row per check (and its reason beneath), the rules, the summary."""
        out = [f"check-weights on {self.clip}, {self.device}"]
        out += [f"  {f.codec}: {f.state}" + (f" ({f.detail})" if f.detail else "") for f in self.fetched]
        head = ("codec", "check", "measured", "required", "result")
        rows = [(o.codec, o.check, o.measured, o.required, "PASS" if o.passed else "FAIL") for o in self.outcomes]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
        for i, row in enumerate([head, *rows]):
            out.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
            if i and self.outcomes[i - 1].why:
                out.append(f"    {self.outcomes[i - 1].why}")
        out.append(f"PESQ floors: the published figure less {PESQ_MARGIN:g}, for a short synthetic clip ({SOURCE}).")
        out.append(f"STOI contrasts: randomizing codebook 0 must cost ≥ {MIN_DROP:.2f} STOI and more than {FACTOR:g} × "
                   "what randomizing codebook 7 costs.")
        out.append(self.summary())
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report for ``--json``: every number is finite or None."""
        if self.blocked:
            return {"ran": False, "reason": self.blocked, "exit_code": self.exit_code}
        return {
            "ran": True, "clip": self.clip, "device": self.device,
            "rules": {"pesq_margin": PESQ_MARGIN, "pesq_source": SOURCE, "stoi_min_drop": MIN_DROP, "stoi_factor": FACTOR},
            "weights": [{"codec": f.codec, "state": f.state, "detail": f.detail or None, "weights": f.weights}
                        for f in self.fetched],
            "checks": [o.to_dict() for o in self.outcomes],
            "passed": len(self.outcomes) - self.failed, "failed": self.failed, "exit_code": self.exit_code,
        }


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def cannot_fetch(names: Sequence[str]) -> str:
    """Why the weights of ``names`` cannot all be had, in one line, or "" when each is cached or its server answers.

    Each server that holds a missing file is asked once, within the probe's few seconds.
    """
    missing: dict[str, list[str]] = {}
    urls: dict[str, str] = {}
    for name in names:
        spec = entry(name).weights_spec()
        if spec is not None and locate(spec) is None:
            url = spec.sources()[0]
            host = urllib.parse.urlsplit(url).hostname or url
            missing.setdefault(host, []).append(name)
            urls.setdefault(host, url)
    reasons = {host: why for host in missing if (why := offline_reason(urls[host]))}
    if not reasons:
        return ""
    lacking = [name for host in reasons for name in missing[host]]
    cached = [name for name in names if not any(name in who for who in missing.values())]
    also = f" ({_join(cached)} {'is' if len(cached) == 1 else 'are'} here: -c NAME checks one alone)" if cached else ""
    return (f"check-weights cannot run: the weights of {_join(lacking)} are not on this computer and "
            f"{_join(list(dict.fromkeys(reasons.values())))}; run it where there is internet, before the class{also}.")


def fetch(name: str, device: torch.device, progress: DownloadProgress | None = None) -> tuple[Fetched, Engine | None]:
    """Codec ``name``'s weights from its cache, or downloaded if missing, loaded on ``device``.

    Returns
    -------
    tuple[Fetched, Engine | None]
        Where the weights came from, and the loaded codec (None when fetching or loading failed,
        and ``Fetched.detail`` says why).
    """
    spec = entry(name).weights_spec()
    paths = [] if spec is None else locate(spec) or []
    state, doing = "built in" if spec is None else "cached" if paths else "downloaded", "downloaded"
    try:
        if spec is not None and not paths:
            paths = download(spec, progress)
        doing = "loaded"
        engine = Engine(load_codec(name, device))
    except CancelledError:
        raise
    except ExplorerError as exc:
        return Fetched(name, "failed", f"the weights could not be {doing}: {exc}"), None
    return Fetched(name, state, ", ".join(str(p) for p in paths), engine.weights_id), engine


def check_weights(codecs: Sequence[str] | None = None, device: str = "auto", clip: str | Path | None = None,
                  checks: Sequence[Check] = CHECKS, progress: DownloadProgress | None = None,
                  step: Callable[[float, str], object] | None = None) -> Report:
    """Fetch the weights of the codecs ``checks`` name (or only ``codecs``) and run their checks.

    Parameters
    ----------
    codecs
        Only these codecs' checks (None: all of ``checks``).
    device
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    clip
        An audio file of speech to measure on (default: the bundled :data:`CLIP`).
    checks
        The check table (default :data:`CHECKS`).
    progress
        Download progress, (bytes done, bytes total); returning False cancels.
    step
        Told (fraction done, what) before each codec.

    Returns
    -------
    Report
        One row per check; ``blocked`` set, and nothing run, when weights are missing and cannot be downloaded.

    Raises
    ------
    CodecError
        When ``codecs`` names a codec that no check covers.
    ExplorerError
        When ``device`` is not a device here.
    """
    unknown = [c for c in codecs or () if c not in {check.codec for check in checks}]
    if unknown:
        covered = list(dict.fromkeys(check.codec for check in checks))
        raise CodecError(f"check-weights has no check for {_join(unknown)}; it checks {_join(covered)}.")
    chosen = [c for c in checks if not codecs or c.codec in codecs]
    names = list(dict.fromkeys(c.codec for c in chosen))
    where = resolve_device(device)
    blocked = cannot_fetch(names)
    if blocked:
        return Report(blocked=blocked)
    path = Path(clip) if clip is not None else resource("clips", CLIP)
    audio = load_audio(path)
    outcomes: list[Outcome] = []
    fetched: list[Fetched] = []
    for i, name in enumerate(names):
        if step is not None:
            step(i / len(names), f"Checking {name}")
        got, engine = fetch(name, where, progress)
        fetched.append(got)
        mine = [c for c in chosen if c.codec == name]
        outcomes += run_checks(mine, engine, audio) if engine is not None else [c.failed(got.detail) for c in mine]
    return Report(tuple(outcomes), tuple(fetched), f"{path.name} ({audio.duration:.1f} s)", describe_device(where))
