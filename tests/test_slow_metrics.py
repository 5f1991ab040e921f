"""PESQ and ViSQOL (explorer.core.perceptual): the same numbers as the packages, the right order, n/a with a reason."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import shows_nan, tone_clip
from explorer.core.audio import Clip, load_audio, resample
from explorer.core.metrics import align
from explorer.core.perceptual import SlowQuality, slow_quality, speech_judgement
from explorer.core.resources import resource


@pytest.fixture(scope="module")
def speech_en() -> Clip:
    return load_audio(resource("clips", "speech_en.wav"))


@pytest.fixture(scope="module")
def music() -> Clip:
    return load_audio(resource("clips", "music_pluck.wav"))


@pytest.fixture(scope="module")
def rvq_out(loaded, speech_en):
    """rvq-lab's reconstruction of the bundled English speech from its first 8 codebooks: audibly coded."""
    from explorer.core.edits import Edits

    engine = loaded("rvq-lab")
    return engine.decode(engine.encode(speech_en), Edits(keep=8))


def noisy(clip: Clip, snr_db: float, seed: int = 1) -> Clip:
    """``clip`` with white noise at ``snr_db`` below its mean power."""
    x = clip.samples
    noise = np.random.default_rng(seed).standard_normal(x.shape) * np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10))
    return Clip((x + noise).astype(np.float32), clip.sample_rate)


def direct(original: Clip, reconstruction: Clip, delay: int, rate: int, band: str) -> float:
    """The ``pesq`` package on the same two signals: aligned by ``delay``, mono, resampled to ``rate``."""
    from pesq import pesq

    ref, est = align(original.samples[0], reconstruction.samples[0], delay)
    ref, est = (resample(x[None], original.sample_rate, rate)[0].astype(np.float64) for x in (ref, est))
    return float(pesq(rate, ref, est, band))


def test_pesq_is_the_pesq_package_on_the_same_signals(speech_en, rvq_out):
    q = slow_quality(speech_en, rvq_out)
    assert q.speech and q.visqol_mode == "speech" and not q.notes
    assert q.pesq == pytest.approx(direct(speech_en, rvq_out, q.delay_samples, 16000, "wb"), abs=0.01)
    assert q.pesq_nb == pytest.approx(direct(speech_en, rvq_out, q.delay_samples, 8000, "nb"), abs=0.01)
    assert 1.0 <= q.pesq < 4.0 and 1.0 <= q.pesq_nb < 4.5  # coded at 8 codebooks: audibly less than clean
    clean = slow_quality(speech_en, speech_en)
    assert clean.pesq > 4.5 and clean.pesq > q.pesq


def test_a_delayed_reconstruction_is_aligned_first(speech_en, rvq_out):
    lag = int(0.02 * rvq_out.sample_rate)
    late = Clip(np.concatenate([np.zeros((1, lag), np.float32), rvq_out.samples], axis=1), rvq_out.sample_rate)
    on_time, delayed = slow_quality(speech_en, rvq_out), slow_quality(speech_en, late)
    assert delayed.delay_samples == on_time.delay_samples + lag
    assert delayed.pesq == pytest.approx(on_time.pesq, abs=0.05)


def test_a_long_clip_is_scored_in_blocks_and_silent_stretches_are_left_out(speech_en):
    from explorer.core.perceptual import BLOCK_SECONDS, pesq_score

    rate = speech_en.sample_rate
    talk = np.tile(speech_en.samples, (1, 4))[:, : int(BLOCK_SECONDS * rate)]
    long = Clip(np.concatenate([talk, np.zeros((1, int(2.2 * BLOCK_SECONDS * rate) - talk.shape[1]), np.float32)], axis=1), rate)
    out = noisy(long, 20.0)
    q = slow_quality(long, out, speech=True, delay=0, metrics=("pesq",))
    assert q.pesq == pytest.approx(pesq_score(talk[0], out.samples[0, : talk.shape[1]], rate)[0], abs=1e-6)
    gap = Clip(out.samples.copy(), rate)
    gap.samples[:, rate: 3 * rate] = 0.0  # the reconstruction drops out for 2 s where the original talks
    assert (slow_quality(long, gap, speech=True, delay=0, metrics=("pesq",)).pesq or 5.0) < q.pesq
    gap.samples[:, : talk.shape[1]] = 0.0  # silent for the whole block: no score, not one from the silent rest
    lost = slow_quality(long, gap, speech=True, delay=0, metrics=("pesq",))
    assert lost.pesq is None and "reconstruction is silent where the original has sound" in (lost.reason("pesq") or "")


def test_an_original_at_8_khz_has_narrow_band_pesq_only(speech_en):
    from explorer.core.audio import convert

    phone = convert(speech_en, 8000, 1)
    q = slow_quality(phone, noisy(phone, 25.0), metrics=("pesq", "pesq_nb"))
    assert q.pesq is None and "wide-band PESQ needs 16 kHz" in (q.reason("pesq") or "") and q.pesq_nb is not None


def test_two_threads_at_once_get_the_same_scores_as_one(speech_en, rvq_out):
    """The window's metrics worker and the classroom tools' worker may both score at once: numba's
    workqueue layer would abort the process and P.862's C code keeps globals, so one runs at a time."""
    import threading

    alone = slow_quality(speech_en, rvq_out)
    together: list[SlowQuality] = []
    threads = [threading.Thread(target=lambda c=c: together.append(slow_quality(speech_en, c))) for c in (rvq_out, rvq_out)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [(q.pesq, q.pesq_nb, q.visqol) for q in together] == [(alone.pesq, alone.pesq_nb, alone.visqol)] * 2


def test_visqol_orders_clean_above_light_above_heavy_degradation(speech_en, music, capsys):
    for clip, mode in ((speech_en, "speech"), (music, "audio")):
        scores, seconds = [], []
        for snr in (None, 35.0, 15.0, 0.0):
            t = time.perf_counter()
            q = slow_quality(clip, clip if snr is None else noisy(clip, snr), metrics=("visqol",))
            seconds.append(time.perf_counter() - t)
            scores.append(q.visqol)
            assert q.visqol_mode == mode
        assert all(s is not None for s in scores), scores
        assert scores == sorted(scores, reverse=True) and scores[0] - scores[-1] > 1.0, scores
        with capsys.disabled():
            print(f"\nViSQOL {mode} mode on {clip.duration:.1f} s, clean / noise at 35, 15, 0 dB SNR: "
                  + ", ".join(f"{s:.2f}" for s in scores) + " (" + ", ".join(f"{s:.2f}" for s in seconds) + " s each)")


def test_pesq_orders_the_same_degradations(speech_en):
    scores = [slow_quality(speech_en, noisy(speech_en, snr), metrics=("pesq",)).pesq for snr in (35.0, 15.0, 0.0)]
    assert scores == sorted(scores, reverse=True) and scores[0] - scores[-1] > 1.5, scores


def test_speech_is_told_from_other_sound(speech_en, music, speech):
    def judged(clip: Clip) -> tuple[bool, str]:
        mono = clip.samples.mean(axis=0)
        return speech_judgement(lambda a, b: mono[a:b], clip.frames, clip.sample_rate)

    for clip in (speech_en, load_audio(resource("clips", "speech_de.wav")), speech):
        assert judged(clip)[0]
    white = Clip((0.1 * np.random.default_rng(0).standard_normal((1, 3 * 24000))).astype(np.float32), 24000)
    for clip in (music, tone_clip(3.0, 24000), white):
        is_speech, why = judged(clip)
        assert not is_speech and "PESQ is defined for speech" in why


def test_what_does_not_apply_is_none_with_a_reason(speech_en, music):
    q = slow_quality(music, noisy(music, 20.0))
    assert q.pesq is None and q.pesq_nb is None and "PESQ is defined for speech" in (q.reason("pesq") or "")
    assert q.visqol_mode == "audio" and q.visqol is not None and q.reason("visqol") is None
    told = slow_quality(speech_en, speech_en, speech=False)
    assert told.pesq is None and "marked as not speech" in (told.reason("pesq") or "") and told.visqol_mode == "audio"
    word = Clip(speech_en.samples[:, 24000:36000], speech_en.sample_rate)  # half a second
    q = slow_quality(word, word, speech=True)
    assert q.pesq is not None and q.visqol is None and "too short for ViSQOL, needs ≥ 1 s" in (q.reason("visqol") or "")
    blip = Clip(word.samples[:, :4800], word.sample_rate)
    assert "too short for PESQ, needs ≥ 0.25 s" in (slow_quality(blip, blip, speech=True).reason("pesq") or "")
    silent = Clip(np.zeros((1, 3 * 24000), np.float32), 24000)
    q = slow_quality(silent, noisy(speech_en, 10.0), speech=True)
    assert q.pesq is None and "original is silent" in (q.reason("pesq") or "")
    assert q.visqol is None and "original is silent" in (q.reason("visqol") or "")
    assert "the original is silent" in (slow_quality(silent, silent).reason("pesq") or "")
    muted = slow_quality(speech_en, Clip(np.zeros_like(speech_en.samples), speech_en.sample_rate))
    assert muted.pesq is None and muted.visqol is None and "reconstruction is silent" in (muted.reason("visqol") or "")
    assert slow_quality(speech_en, speech_en, metrics=("pesq",)).reason("visqol") == "not measured here"
    for line in q.note_lines():
        assert line.split(":")[0] in ("pesq", "pesq_nb", "visqol") and ": n/a (" in line and not shows_nan(line)


def test_roundtrip_json_has_pesq_and_visqol_and_no_nan(tmp_path):
    def no_constants(name: str) -> None:
        raise ValueError(f"{name} in the JSON")

    path = str(resource("clips", "speech_en.wav"))
    p = subprocess.run([sys.executable, "-m", "explorer", "roundtrip", path, "-c", "rvq-lab", "--keep", "8", "--json"],
                       capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout, parse_constant=no_constants)
    m = result["metrics"]
    assert all(isinstance(m[k], float) and 1.0 <= m[k] <= 5.0 for k in ("pesq", "pesq_nb", "visqol")), m
    assert m["visqol_mode"] == "speech" and result["pesq_visqol_seconds"] > 0
    text = subprocess.run([sys.executable, "-m", "explorer", "roundtrip", path, "-c", "rvq-lab", "--speech", "no"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=600).stdout
    assert "PESQ n/a wide band, n/a narrow band" in text and "(audio mode)" in text
    assert "pesq: n/a (PESQ is defined for speech" in text and not shows_nan(text)


def test_comparison_csv_and_report_have_the_columns(loaded, speech_en, tmp_path):
    from explorer.services.compare import compare, write_csv
    from explorer.services.report import html_report

    results = compare([(loaded("rvq-lab"), None), (loaded("rvq-lab"), 2)], speech_en)
    write_csv([r.row for r in results], tmp_path / "c.csv")
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    assert {"pesq", "pesq_nb", "visqol"} <= set(rows[0])
    assert float(rows[0]["pesq"]) > float(rows[1]["pesq"]) and float(rows[0]["visqol"]) > float(rows[1]["visqol"])
    page = html_report("t", speech_en, results)
    assert "<th>PESQ (wide band)</th>" in page and "(speech mode)" in page
