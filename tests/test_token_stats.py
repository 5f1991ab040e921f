"""Per-codebook energy, share and the RVQ residual curve, against the formula on the engine's contributions."""

from __future__ import annotations

import numpy as np
import pytest

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
