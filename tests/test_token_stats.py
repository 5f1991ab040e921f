"""Per-codebook energy, share and the RVQ residual curve, against the formula on the engine's contributions."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shows_nan

FAMILIES = ["rvq-lab", "encodec-24khz", "encodec-48khz", "dac-16khz", "snac-24khz", "mimi", "speechtokenizer"]


def formula(engine, enc):
    """The issue's definitions, written out on the whole contribution tensor at once."""
    c = engine.contributions(enc).double().numpy()  # [K, D, T]
    latent = c.sum(axis=0)
    total = float((latent ** 2).sum())
    residual = [float(((latent - c[: k + 1].sum(axis=0)) ** 2).sum()) / total for k in range(len(c))]
    energy = (c ** 2).sum(axis=(1, 2))
    return np.array(residual), energy / energy.sum(), np.sqrt((c ** 2).sum(axis=1))


@pytest.mark.parametrize("name", FAMILIES)
def test_energy_equals_the_formula_on_the_contributions(loaded, speech, name, monkeypatch):
    from explorer.services import token_stats

    engine = loaded(name)
    enc = engine.encode(speech)
    monkeypatch.setattr(token_stats, "BLOCK_BYTES", 1 << 16)  # many small blocks: the streaming must add up
    e = token_stats.energy(engine, enc)
    residual, share, norms = formula(engine, enc)
    assert e.residual_after == pytest.approx(residual, rel=1e-6, abs=1e-9)
    assert e.share == pytest.approx(share, rel=1e-6) and e.share.sum() == pytest.approx(1.0)
    assert e.residual_after[-1] == pytest.approx(0.0, abs=1e-9)
    for k in range(enc.n_codebooks):
        s = engine.info.stride(k)
        assert len(e.norms[k]) == len(enc.codes[k])
        assert e.norms[k] == pytest.approx(norms[k, ::s][: len(enc.codes[k])], rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("name", ["rvq-lab", "dac-16khz"])
def test_the_rvq_curve_falls_for_residual_quantizers(loaded, speech, name):
    from explorer.services.token_stats import per_codebook

    engine = loaded(name)
    rows = per_codebook(engine, engine.encode(speech))
    curve = [r["residual_after"] for r in rows]
    assert all(b <= a + 1e-9 for a, b in zip(curve, curve[1:])), curve
    assert set(rows[0]) == {"index", "role", "entropy_bits", "utilization", "bitrate", "energy_share", "residual_after"}


@pytest.mark.parametrize("name", FAMILIES)
def test_codeword_vectors_are_what_each_code_adds(loaded, speech, name):
    """The vectors equal the contributions of the codes in an encoding, for every codebook."""
    engine = loaded(name)
    enc = engine.encode(speech)
    c = engine.contributions(enc).numpy()
    for k in range(enc.n_codebooks):
        v = engine.codeword_vectors(k)
        assert v.shape == (engine.info.codebook_size, c.shape[1])
        s = engine.info.stride(k)
        for i in (0, len(enc.codes[k]) // 2, len(enc.codes[k]) - 1):
            assert v[enc.codes[k][i]] == pytest.approx(c[k, :, i * s], rel=1e-4, abs=1e-5)


def delta_e(lab1, lab2):
    """CIEDE2000 between two CIELAB colours, by ColorAide (a colour library kept up; the app converts with numpy)."""
    from coloraide import Color

    return Color("lab-d65", list(map(float, lab1))).delta_e(Color("lab-d65", list(map(float, lab2))), method="2000")


def rgba_to_lab(rgba):
    from coloraide import Color

    return np.array([Color("srgb", [c / 255 for c in px[:3]]).convert("lab-d65").coords() for px in rgba])


def test_lab_to_rgba_agrees_with_coloraide_and_keeps_lightness_and_hue_out_of_gamut():
    from coloraide import Color

    from explorer.core.palettes import LAB_RANGES, lab_to_rgba

    rng = np.random.default_rng(0)
    lab = np.column_stack([rng.uniform(*r, 1500) for r in LAB_RANGES])
    ours = lab_to_rgba(lab)
    inside = np.array([Color("lab-d65", list(x)).convert("srgb").in_gamut() for x in lab])
    theirs = np.array([[round(c * 255) for c in Color("lab-d65", list(x)).convert("srgb").coords()] for x in lab[inside]])
    assert 0.5 < inside.mean() < 1 and np.abs(ours[inside, :3].astype(int) - theirs).max() <= 1
    back = rgba_to_lab(ours[~inside])
    assert np.abs(back[:, 0] - lab[~inside, 0]).max() < 0.5  # lightness kept
    hue = lambda x: np.degrees(np.arctan2(x[:, 2], x[:, 1]))  # noqa: E731
    assert np.abs((hue(back) - hue(lab[~inside]) + 180) % 360 - 180).max() < 5  # hue kept; only chroma gave way


def _nearest_and_farthest(v, i):
    d = np.linalg.norm(v - v[i], axis=1)
    d[i] = np.inf
    near = int(np.argmin(d))
    d[i] = -np.inf
    return near, int(np.argmax(d))


@pytest.mark.parametrize("name", FAMILIES)
def test_near_identical_codewords_get_near_identical_colours(loaded, name):
    """Per family: a codeword and a near-identical copy of it (one part in a thousand of the codebook's
    spread) get colours the eye cannot tell apart, closer than the codeword farthest from it."""
    from explorer.core.palettes import similarity_palette

    engine = loaded(name)
    v = engine.codeword_vectors(0).astype(np.float64)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(v), size=12, replace=False)
    copies = v[picks] + rng.normal(size=(len(picks), v.shape[1])) * 1e-3 * v.std(axis=0)
    lab = rgba_to_lab(similarity_palette(np.concatenate([v, copies])))
    for j, i in enumerate(picks):
        _, far = _nearest_and_farthest(v, i)
        twin = delta_e(lab[i], lab[len(v) + j])
        assert twin < 2.0 and twin < delta_e(lab[i], lab[far])


def test_similar_codewords_get_similar_colours_on_trained_codebooks(loaded):
    """rvq-lab's codebooks are trained (random-weight codebooks are isotropic noise, where three
    components of many carry little): a code's nearest codeword is closer in colour than its farthest,
    and lightness follows the first principal component."""
    from explorer.core.palettes import principal_scores, similarity_palette

    engine = loaded("rvq-lab")
    for k in (0, 1, engine.info.max_codebooks - 1):
        v = engine.codeword_vectors(k).astype(np.float64)
        picks = np.random.default_rng(k).choice(len(v), size=40, replace=False)
        lab = rgba_to_lab(similarity_palette(v))
        closer = 0
        for i in picks:
            near, far = _nearest_and_farthest(v, i)
            closer += delta_e(lab[i], lab[near]) < delta_e(lab[i], lab[far])
        assert closer >= 36, f"codebook {k}: {closer}/40 codes had their nearest codeword's colour closer than the farthest's"
        rank = lambda x: np.argsort(np.argsort(x))  # noqa: E731
        assert abs(np.corrcoef(rank(principal_scores(v)[:, 0]), rank(lab[:, 0]))[0, 1]) > 0.9


def test_stats_command_prints_the_rvq_curve(tmp_path, speech, loaded):
    import json
    import subprocess
    import sys

    from explorer.core.audio import save_audio
    from explorer.services.token_stats import per_codebook

    wav = tmp_path / "s.wav"
    save_audio(wav, speech)
    p = subprocess.run([sys.executable, "-m", "explorer", "stats", str(wav), "-c", "rvq-lab", "-n", "8", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    engine = loaded("rvq-lab")
    from explorer.core.audio import load_audio

    expected = per_codebook(engine, engine.encode(load_audio(wav), 8))
    assert out["codec"] == "rvq-lab" and out["per_codebook"] == expected and len(expected) == 8
    assert out["provenance"]["codecs"][0]["weights"] == engine.weights_id  # what made the numbers
    p = subprocess.run([sys.executable, "-m", "explorer", "stats", str(wav), "-c", "rvq-lab", "-n", "8"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "residual after" in p.stdout and not shows_nan(p.stdout)
