import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
import torchaudio.functional as AF

from conftest import tone_clip
from explorer.core.audio import Clip, convert, fit_length, load_audio, resample, save_audio
from explorer.core.errors import AudioError


@pytest.mark.parametrize("rate_in, one_shot_of", [
    (44100, lambda x: AF.resample(torch.from_numpy(x), 44100, 24000).numpy()),   # a common ratio: polyphase
    (44101, lambda x: soxr.resample(x.T, 44101, 24000).T),                      # an odd one: libsoxr
])
def test_blockwise_resampling_equals_one_shot(rate_in, one_shot_of):
    x = np.random.default_rng(0).standard_normal((2, rate_in * 3)).astype(np.float32)
    one_shot = one_shot_of(x)
    blocks = resample(x, rate_in, 24000, block_seconds=0.5)
    assert blocks.shape == one_shot.shape
    assert np.abs(blocks - one_shot).max() < 1e-5


def test_resampling_is_band_limited():
    # A 15 kHz tone at 48 kHz must vanish at 24 kHz (Nyquist 12 kHz), not fold back to 9 kHz.
    t = np.arange(48000) / 48000
    x = np.sin(2 * np.pi * 15000 * t).astype(np.float32)[None]
    y = resample(x, 48000, 24000)
    assert np.sqrt((y[:, 1000:-1000] ** 2).mean()) < 0.01


def test_convert_notes_what_changed():
    clip = tone_clip(0.5, 44100, channels=2)
    mono = convert(clip, 24000, 1)
    assert mono.channels == 1 and mono.sample_rate == 24000
    assert any("mixed 2 channels" in n for n in mono.notes)
    assert any("resampled 44100 Hz to 24000 Hz" in n for n in mono.notes)
    eight = Clip(np.zeros((8, 100), np.float32), 48000)
    assert "kept the first 2 of 8 channels" in convert(eight, 48000, 2).notes


def test_save_load_roundtrip_and_fit_length(tmp_path):
    clip = tone_clip(0.3, 16000)
    save_audio(tmp_path / "a.wav", clip)
    back = load_audio(tmp_path / "a.wav")
    assert back.sample_rate == 16000
    assert np.allclose(back.samples, clip.samples, atol=1e-6)
    assert fit_length(back.samples, 10).shape == (1, 10)
    assert fit_length(back.samples, clip.frames + 5)[:, -5:].sum() == 0


@pytest.mark.parametrize("make, expect", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(np.random.default_rng(1).bytes(5000)), "could not be read"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_bad_files_give_clear_errors(tmp_path, make, expect):
    p = tmp_path / "bad.wav"
    make(p)
    with pytest.raises(AudioError, match=expect):
        load_audio(p)


def test_nan_samples_are_repaired_and_noted(tmp_path):
    x = np.zeros(1000, np.float32)
    x[10] = np.nan
    x[20] = np.inf
    sf.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    clip = load_audio(tmp_path / "nan.wav")
    assert np.isfinite(clip.samples).all()
    assert "replaced 2 NaN or infinite samples" in clip.notes[0]


def test_missing_file():
    with pytest.raises(AudioError, match="No file"):
        load_audio("/nonexistent/x.wav")


def test_stream_resampler_joins_into_the_one_shot_result():
    from explorer.core.audio import StreamResampler

    x = np.random.default_rng(0).standard_normal((1, 48000 * 2)).astype(np.float32)
    r = StreamResampler(48000, 24000, 1)
    outs, i = [], 0
    for n in [700, 512, 4096, 333, 20000] * 20:
        outs.append(r.push(x[:, i: i + n]))
        i += n
    y = np.concatenate(outs, axis=1)
    ref = resample(x, 48000, 24000)
    assert ref.shape[1] - 300 < y.shape[1] <= ref.shape[1]
    assert np.abs(y - ref[:, : y.shape[1]]).max() < 1e-5


@pytest.mark.parametrize("rate_in, rate_out, ch_in, ch_out", [(16000, 24000, 1, 1), (44100, 24000, 2, 1), (48000, 48000, 1, 2),
                                                               (22050, 44100, 8, 2), (24000, 24000, 2, 1)])
def test_converted_stream_windows_equal_slices_of_convert(rate_in, rate_out, ch_in, ch_out):
    from explorer.core.audio import Clip, ConvertedStream, convert

    rng = np.random.default_rng(rate_in + ch_in)
    clip = Clip(rng.standard_normal((ch_in, int(23.3 * rate_in))).astype(np.float32) * 0.1, rate_in)
    whole = convert(clip, rate_out, ch_out)
    stream = ConvertedStream(clip, rate_out, ch_out)
    assert stream.frames == whole.frames and stream.notes == whole.notes
    start = 0
    while start < whole.frames + 1000:
        end = start + int(rng.integers(1, 9 * rate_out))
        got = stream.window(start, end)
        expected = np.zeros((ch_out, end - start), np.float32)
        part = whole.samples[:, start:end]
        expected[:, : part.shape[1]] = part
        np.testing.assert_allclose(got, expected, atol=2e-6)
        start = max(start, end - int(rng.integers(0, rate_out)))  # overlapping, never going back
