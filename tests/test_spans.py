"""A span decoded alone equals the same samples of the whole decode: the playhead's first block, and
the range re-decoded after an edit confined to a time range or painted cells.

Convolutional decoders (DAC, SNAC) get their receptive field computed from their layers and match to
float rounding; the decoders with no finite receptive field (EnCodec's and SpeechTokenizer's LSTMs,
Mimi's transformer) get a measured context that brings the difference under 1e-3 of the peak, the
bound held here. SNAC's and rvq-lab's noise is drawn by position, so it is the same noise either way.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.audio import Clip
from explorer.core.edits import Edits, Paint

FAMILIES = ["rvq-lab", "encodec-24khz", "dac-16khz", "snac-24khz", "snac-32khz", "mimi", "speechtokenizer"]
CONVOLUTIONAL = {"rvq-lab", "dac-16khz", "snac-24khz", "snac-32khz"}
BOUND = 1e-3
"""Of the whole decode's peak: the families without a finite receptive field."""
EXACT = 1e-5
"""Of the peak: float rounding (a convolution over a shorter input sums in another order)."""


@pytest.fixture(scope="module")
def clip(speech):
    """Six seconds of speech (the fixture twice): long enough for a span in the middle with context each side."""
    return Clip(np.tile(speech.samples, 2)[:, : 6 * speech.sample_rate], speech.sample_rate)


def bound(name):
    return EXACT if name in CONVOLUTIONAL else BOUND


@pytest.mark.parametrize("name", FAMILIES)
def test_the_first_block_at_the_playhead_equals_the_whole_decode(loaded, clip, name):
    engine = loaded(name)
    enc = engine.encode(clip)
    edits = Edits(mute={1}, seed=3)
    whole = engine.decode_native(enc, edits)
    peak = np.abs(whole).max()
    hop = engine.info.hop_length
    for start in (0.0, 2.5, enc.duration - 0.05):  # the start, the middle, the last frames
        first, last = engine.span_frames(enc, start, 0.1)
        block = engine.decode_frames(enc, edits, first, last)
        ref = whole[:, first * hop: last * hop]
        n = min(block.shape[1], ref.shape[1])
        assert n > 0 and np.abs(block[:, :n] - ref[:, :n]).max() <= bound(name) * peak, (name, start)
    before, after = engine.span_context()
    assert before > 0 and (after == 0) == engine.info.causal


@pytest.mark.parametrize("name", FAMILIES)
def test_an_edit_over_a_range_redecodes_only_that_range_and_equals_the_whole_decode(loaded, clip, name):
    engine = loaded(name)
    enc = engine.encode(clip)
    n = len(enc.codes[1])
    for old, new in ((Edits(), Edits(mute={0}, start=2.0, end=2.6)),
                     (Edits(mute={0}, start=2.0, end=2.6), Edits(mute={0}, start=2.0, end=2.6, paint=(Paint(1, n // 3, n // 3 + 5, "set", 9),)))):
        heard = engine.decode(enc, old, reuse=True).samples
        out = engine.decode(enc, new, reuse=True).samples
        assert engine.last_reuse.startswith("range "), engine.last_reuse
        a, b = (int(x) for x in engine.last_reuse.split()[1].split("-"))
        assert b - a < 0.5 * enc.latent_frames
        whole = engine.decode(enc, new).samples  # no reuse: the whole clip
        peak = np.abs(whole).max()
        assert np.abs(out - whole).max() <= bound(name) * peak, name
        edge = round(a * engine.info.hop_length * enc.input_rate / engine.info.sample_rate)
        assert np.array_equal(out[:, : max(0, edge - 64)], heard[:, : max(0, edge - 64)])  # before the range: untouched
    # undo: the earlier edits' audio again, bit for bit, without decoding
    again = engine.decode(enc, old, reuse=True).samples
    assert engine.last_reuse == "remembered" and np.array_equal(again, heard)


def test_positional_noise_is_the_same_whatever_span_is_asked_for():
    from explorer.codecs.base import positional_noise

    whole = positional_noise(7, 1, 0, 20_000)
    assert np.array_equal(positional_noise(7, 1, 5_000, 9_000), whole[5_000:14_000])
    assert not np.array_equal(positional_noise(8, 1, 0, 100), whole[:100])  # another seed, other noise
    assert abs(float(whole.std()) - 1.0) < 0.02 and len(positional_noise(7, 1, 10, 0)) == 0


def test_the_receptive_field_of_a_known_stack():
    """Two 'same' convolutions (kernel 7, then kernel 3 with dilation 2) and a transposed one (stride 2, kernel 4)
    before a kernel-5 convolution: the width in input frames is 6 + 4 + 3/2 + 4/2 = 13.5, so 8 on each side."""
    import torch

    from explorer.codecs.base import conv_context

    layers = [torch.nn.Conv1d(1, 1, 7, padding=3), torch.nn.Conv1d(1, 1, 3, dilation=2, padding=2),
              torch.nn.ConvTranspose1d(1, 1, 4, stride=2, padding=1), torch.nn.Conv1d(1, 1, 5, padding=2)]
    assert conv_context(layers) == 8
    x = torch.zeros(1, 1, 64)
    x[0, 0, 32] = 1.0
    with torch.no_grad():
        y = x
        for layer in layers:
            y = layer(y)
    reach = np.flatnonzero(np.abs(y[0, 0].numpy() - torch.nn.Sequential(*layers)(torch.zeros(1, 1, 64))[0, 0].detach().numpy()) > 0)
    assert (reach.max() - reach.min()) / 2 / 2 <= conv_context(layers)  # an impulse reaches no further than the bound


def test_encodec_48khz_decodes_the_segments_under_the_playhead_first(loaded):
    """Its 1 s segments are decoded whole and overlap-added: a span takes every segment that covers it."""
    from conftest import tone_clip

    engine = loaded("encodec-48khz")
    clip = tone_clip(4.0, 48000, channels=2)
    enc = engine.encode(clip)
    whole = engine.decode(enc, Edits(mute={1})).samples
    for start in (0.0, 1.7, 3.9):
        at, span = engine.decode_span(enc, Edits(mute={1}), start, 0.1)
        assert at == round(start * 48000) and span.shape[1] == round(0.1 * 48000) or start == 3.9
        n = min(span.shape[1], whole.shape[1] - at)
        assert np.abs(span[:, :n] - whole[:, at: at + n]).max() <= EXACT * np.abs(whole).max()
