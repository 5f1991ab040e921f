"""Streaming encode/decode as live mode runs it, fed in uneven blocks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from explorer.core.edits import Edits
from explorer.core.errors import CodecError
from explorer.services.live import ChunkedLive, MimiLive


def feed(live, audio, sizes=(700, 1920, 333, 4100, 2500)):
    steps, i, j = [], 0, 0
    while i < audio.shape[1]:
        n = sizes[j % len(sizes)]
        steps += live.push(audio[:, i: i + n])
        i += n
        j += 1
    return steps


def test_mimi_streaming_codes_equal_an_offline_encode_exactly(loaded, speech):
    engine = loaded("mimi")
    x = speech.samples[:, : speech.frames // 1920 * 1920]
    live = MimiLive(engine, 8)
    try:
        steps = feed(live, x)
    finally:
        live.close()
    streamed = [np.concatenate([s.codes[k] for s in steps]) for k in range(8)]
    from explorer.core.audio import Clip

    offline = engine.encode(Clip(x, 24000), 8)
    assert all(np.array_equal(a, b) for a, b in zip(streamed, offline.codes))
    audio = np.concatenate([s.audio for s in steps], axis=1)
    reference = engine.decode_native(offline, Edits())
    assert audio.shape == reference.shape
    assert np.abs(audio - reference).max() < 1e-3
    assert live.latency == 1920


def test_rvq_lab_live_equals_offline(loaded, speech, monkeypatch):
    from explorer.codecs import rvqlab
    from explorer.core.audio import Clip

    monkeypatch.setattr(rvqlab, "NOISE_FILL", 0.0)
    engine = loaded("rvq-lab")
    x = speech.samples[:, : speech.frames // 1920 * 1920]
    live = ChunkedLive(engine, block_seconds=0.08)
    steps = feed(live, np.concatenate([x, np.zeros((1, live.lookahead), np.float32)], axis=1))
    offline = engine.encode(Clip(x, 24000))
    n = sum(len(s.codes[0]) for s in steps)
    assert n == len(offline.codes[0])
    for k in range(32):
        assert np.array_equal(np.concatenate([s.codes[k] for s in steps]), offline.codes[k])
    audio = np.concatenate([s.audio for s in steps], axis=1)
    reference = engine.decode_native(offline, Edits())
    # all but the clip's last frame, which offline has no following frame for
    assert np.abs(audio[:, :-320] - reference[:, :-320]).max() < 1e-4
    assert live.latency == live.block + 320


@pytest.mark.parametrize("name", ["rvq-lab", "mimi", "encodec-24khz"])
def test_edits_change_the_live_output(loaded, speech, name):
    from explorer.services.live import live_codec

    engine = loaded(name)
    x = speech.samples[:, : 1920 * 20]

    def run(edits):
        live = live_codec(engine, edits=edits)
        try:
            return np.concatenate([s.audio for s in feed(live, x)], axis=1)
        finally:
            if isinstance(live, MimiLive):
                live.close()  # one streaming state per model at a time

    a, b = run(Edits()), run(Edits(mute={0}))
    assert a.shape == b.shape and a.shape[1] > 0
    assert np.abs(a - b).max() > 1e-3


def test_a_codec_that_falls_behind_drops_whole_blocks_and_the_take_stays_aligned(loaded, speech, tmp_path):
    """The degrade path, without devices: three seconds arrive at once (as after a slow step)."""
    from explorer.audio_io.capture import RingBuffer
    from explorer.services.live_run import LiveRun, live_status
    from explorer.audio_io.take import TakeWriter
    from explorer.core.audio import StreamResampler, load_audio
    from explorer.core.tokens import load_tokens

    engine = loaded("rvq-lab")
    run = LiveRun(engine, record=tmp_path / "take", monitor="off")
    rate = engine.info.sample_rate
    run.capture.rate = rate
    run.capture.ring = RingBuffer(1, 10 * rate)
    run.to_codec = StreamResampler(rate, rate, 1)
    run.take = TakeWriter(tmp_path / "take", rate, rate, 1, run._write_tokens)
    x = np.tile(speech.samples, (1, 2))[:, : 3 * rate]
    run.capture.ring.write(x.T)
    assert run.poll()
    s = run.stats
    assert s.behind and s.skipped_steps >= 30 and s.steps >= 1
    assert abs(s.skipped_seconds + s.steps * run.live.block / rate - 3.0) <= run.live.block / rate
    assert "FALLING BEHIND" in live_status(run)
    run.stop()
    codes, meta = load_tokens(tmp_path / "take" / "tokens.npz")
    recon = load_audio(tmp_path / "take" / "reconstruction.wav")
    frames = len(codes[0])
    assert recon.frames == frames * engine.info.hop_length  # silence where blocks were dropped: aligned
    skipped = int(round(s.skipped_seconds * rate / engine.info.hop_length))
    assert (codes[0][:skipped] == -1).all() and (codes[0][skipped:] >= 0).all()
    assert meta["live_skipped_seconds"] > 2.5
    skipped_text = re.escape(f"for {meta['live_skipped_seconds']} s")
    with pytest.raises(CodecError, match=rf"never computed \(code -1: the codec fell behind {skipped_text}\); open the take's input\.wav"):
        engine.from_tokens(codes, meta)


@pytest.mark.parametrize("name, min_equal", [("encodec-24khz", 1.0), ("snac-24khz", 0.97)])
def test_chunked_live_matches_offline_within_the_stated_tolerance_without_clicks(loaded, speech, name, min_equal):
    """Chunked streaming of the neural codecs: EnCodec 24 kHz (causal) gives exactly the offline codes;
    SNAC's receptive field reaches past the 0.5 s context, so at least 97 % of its codes agree. The
    decoded blocks join without clicks: no jump at a block border exceeds 1.5 x the 99th percentile
    of the jumps inside blocks."""
    from explorer.core.audio import Clip

    engine = loaded(name)
    x = speech.samples
    live = ChunkedLive(engine)
    steps = feed(live, x)
    frames = sum(len(s.codes[0]) for s in steps) * engine.info.stride(0)
    offline = engine.encode(Clip(x[:, : frames * engine.info.hop_length], engine.info.sample_rate))
    for k, row in enumerate(offline.codes):
        streamed = np.concatenate([s.codes[k] for s in steps])
        n = min(len(streamed), len(row))
        assert np.mean(streamed[:n] == row[:n]) >= min_equal, (k, np.mean(streamed[:n] == row[:n]))
    y = np.concatenate([s.audio for s in steps], axis=1)[0]
    jumps = np.abs(np.diff(y))
    at_borders = jumps[live.block - 1:: live.block]
    inside = np.delete(jumps, np.arange(live.block - 1, len(jumps), live.block))
    assert at_borders.max() <= 1.5 * np.percentile(inside, 99)
    if name == "encodec-24khz":
        reference = engine.decode(offline).samples[0][: len(y)]
        assert np.abs(y - reference).mean() < 1e-3 * np.abs(reference).mean()


LIVE_REFUSAL = ("SpeechTokenizer's encoder looks at the whole clip (bidirectional), so it cannot run live; "
                "pick Mimi or EnCodec for live mode.")


def test_live_mode_refuses_speechtokenizer_in_one_sentence_before_loading_it(loaded, monkeypatch):
    from explorer.services import live
    from explorer.services.session import CodecChoice

    with pytest.raises(CodecError) as err:
        live.live_codec(loaded("speechtokenizer"))
    assert str(err.value) == LIVE_REFUSAL
    opened: list[str] = []
    monkeypatch.setattr(live, "open_engine", lambda choice, download=None: opened.append(choice.name))
    with pytest.raises(CodecError) as err:
        live.open_live(CodecChoice("speechtokenizer"))
    assert str(err.value) == LIVE_REFUSAL and opened == []  # refused before any weights were looked for
    live.open_live(CodecChoice("mimi"))
    assert opened == ["mimi"]


def test_the_command_line_and_the_live_worker_say_the_same_sentence(qtbot, tmp_path):
    import os
    import subprocess
    import sys

    from explorer.services.session import CodecChoice
    from explorer.ui.live_worker import LiveRequest, LiveWorker

    p = subprocess.run([sys.executable, "-m", "explorer", "live", "-c", "speechtokenizer", "--seconds", "1",
                        "--record", str(tmp_path / "take")], capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert p.returncode == 2 and p.stderr.strip() == f"codec-explorer: error: {LIVE_REFUSAL}", p.stderr
    assert not (tmp_path / "take").exists()
    worker = LiveWorker(LiveRequest(CodecChoice("speechtokenizer"), None, None, "off", tmp_path / "take", Edits()))
    ended: list[tuple[str, object, bool]] = []
    worker.ended.connect(lambda reason, folder, problem: ended.append((reason, folder, problem)))
    worker.run()  # on this thread: the window shows what ``ended`` carries, in a warning
    assert ended == [(LIVE_REFUSAL, None, True)] and not (tmp_path / "take").exists()
