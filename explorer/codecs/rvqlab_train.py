"""Train ``rvq-lab``'s codebooks from audio made here. Seeded and reproducible.

    python -m explorer.codecs.rvqlab_train [--out resources/rvq_lab/codebooks.npz] [--small]

Data: several espeak-ng voices and languages reading varied sentences, and sox-made music
(plucked phrases, chords, noise textures). Held out for evaluation (never trained on): Portuguese
with a female voice, and a music phrase in another key (:func:`held_out`).

Training, on MDCT frames with some energy:
1. Codebook 0: k-means of the log2 band-RMS envelope minus its average.
2. Divide the coefficients by the decoded envelope.
3. For each further stage, pick the slice of bins (from partitions into 4- to 64-bin slices)
   whose weighted residual energy times the share a 10-bit codebook can remove, 1 - 2^(-20/d),
   is largest; learn its codewords by weighted k-means on the residual; subtract.
   Frames weigh by their envelope to the power ``alpha`` (1 = plain waveform error).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from explorer.codecs import rvqlab
from explorer.core.audio import Clip
from explorer.core.resources import resources_dir
from explorer.core.synth import chord, concat, noise_texture, pluck_phrase, speak
from explorer.core.types import AnyArray

TEXTS = {
    "en": [
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
        "It is easy to tell the depth of a well. These days a chicken leg is a rare dish.",
        "Rice is often served in round bowls. The juice of lemons makes fine punch.",
        "The box was thrown beside the parked truck. Four hours of steady work faced us.",
        "A large size in stockings is hard to sell. The boy was there when the sun rose.",
        "Why would anyone measure the distance to the moon with a laser? Because they can!",
    ],
    "de": ["Der schnelle braune Fuchs springt über den faulen Hund. Heute scheint die Sonne über dem See."],
    "fr": ["Le vif renard brun saute par-dessus le chien paresseux. Il fait beau ce matin à Paris."],
    "es": ["El veloz murciélago hindú comía feliz cardillo y kiwi. Mañana iremos a la playa."],
    "it": ["La volpe marrone salta sopra il cane pigro. Domani andremo al mercato del pesce."],
    "nl": ["De snelle bruine vos springt over de luie hond. Het regent vandaag in Amsterdam."],
    "sv": ["Den snabba bruna räven hoppar över den lata hunden. Vi ses i Stockholm i morgon."],
}
VOICES = {
    "en": ["en", "en-us", "en+f3", "en-us+m3", "en+f2", "en-gb-x-rp+m7", "en-gb-scotland+f4", "en-029",
           "en-gb-x-gbcwmd+f1", "en-us-nyc+m1", "en-gb-x-gbclan+f5"],
    "de": ["de", "de+f4"], "fr": ["fr", "fr+f1"], "es": ["es", "es+m2"],
    "it": ["it+f5"], "nl": ["nl"], "sv": ["sv+m4"],
}
HELD_OUT_TEXT = "O rato roeu a roupa do rei de Roma. Amanhã vamos todos à praia de manhã cedo."


@dataclass(frozen=True)
class Config:
    seed: int = 0
    stages: int = 31
    codes: int = 1024
    iterations: int = 25
    alpha: float = 1.0
    speeds: tuple[int, ...] = (130, 165, 200)
    pitches: tuple[int, ...] = (35, 65)
    music_repeats: int = 6
    texts: int = 6
    max_frames: int = 80000

    @classmethod
    def small(cls) -> "Config":
        return cls(stages=3, codes=32, iterations=3, speeds=(170,), pitches=(50,), music_repeats=1, texts=1, max_frames=4000)


def training_audio(cfg: Config) -> Clip:
    """The training set: every voice reading its language's texts at a few speeds and pitches, and music."""
    rng = np.random.default_rng(cfg.seed)
    clips = []
    for lang, voices in VOICES.items():
        for voice in voices:
            for text in TEXTS[lang][: cfg.texts]:
                for speed in cfg.speeds:
                    clips.append(speak(text, voice, speed=speed, pitch=int(rng.choice(cfg.pitches))))
    scales = [["C3", "E3", "G3", "C4", "E4", "G4"], ["A2", "C3", "E3", "A3", "C4"], ["D3", "F#3", "A3", "D4"]]
    for r in range(cfg.music_repeats):
        clips.append(pluck_phrase(scales[r % len(scales)]))
        clips.append(chord(scales[r % len(scales)][:3], 1.5, wave=["sawtooth", "square", "triangle"][r % 3]))
        clips.append(noise_texture(["pinknoise", "brownnoise", "whitenoise"][r % 3], 1.0))
    return concat(clips)


def held_out() -> dict[str, Clip]:
    """Audio never used in training: another voice and language, another music phrase."""
    return {
        "speech (pt, female)": speak(HELD_OUT_TEXT, "pt+f4", speed=160, pitch=55),
        "music (B-flat phrase)": concat([pluck_phrase(["Bb2", "D3", "F3", "Bb3", "F3", "D3"]), chord(["Bb2", "D3", "F3"], 1.5)]),
    }


def kmeans(x: AnyArray, w: AnyArray, k: int, iterations: int, rng: np.random.Generator) -> AnyArray:
    """Weighted k-means (squared Euclidean); empty clusters are re-seeded from random points."""
    xt = torch.from_numpy(x.astype(np.float32))
    wt = torch.from_numpy(w.astype(np.float32))
    centers = xt[torch.from_numpy(rng.choice(len(x), size=k, replace=len(x) < k))].clone()
    for _ in range(iterations):
        assign = ((centers * centers).sum(1)[None, :] - 2.0 * xt @ centers.T).argmin(1)
        sums = torch.zeros_like(centers).index_add_(0, assign, xt * wt[:, None])
        mass = torch.zeros(k).index_add_(0, assign, wt)
        empty = mass <= 0
        centers = torch.where(empty[:, None], centers, sums / mass.clamp_min(1e-12)[:, None])
        if bool(empty.any()):
            n = int(empty.sum())
            centers[empty] = xt[torch.from_numpy(rng.choice(len(x), size=n))]
    return centers.numpy()


def candidate_slices() -> list[tuple[int, int]]:
    return [(lo, lo + d) for d in (4, 8, 16, 32, 64) for lo in range(0, rvqlab.HOP, d)]


def train(cfg: Config, log: bool = True) -> rvqlab.Codebooks:
    """Train all codebooks for ``cfg`` on one thread (so the result is the same on every run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(cfg, log)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: Config, log: bool) -> rvqlab.Codebooks:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    audio = training_audio(cfg).samples[0]
    audio = audio[: len(audio) // rvqlab.HOP * rvqlab.HOP]
    coefs = rvqlab.mdct(audio, rvqlab.mdct_basis())
    rms = rvqlab.band_rms(coefs)
    loud = 10 * np.log10((coefs.astype(np.float64) ** 2).mean(1) + 1e-20)
    keep = loud > loud.max() - 60
    coefs, rms = coefs[keep], rms[keep]
    if len(coefs) > cfg.max_frames:
        pick = np.sort(rng.choice(len(coefs), cfg.max_frames, replace=False))
        coefs, rms = coefs[pick], rms[pick]
    if log:
        print(f"{len(audio) / rvqlab.SAMPLE_RATE:.0f} s of audio, {len(coefs)} frames ({time.time() - t0:.1f} s)")
    log_env = np.log2(rms)
    mean_env = log_env.mean(0)
    dev = log_env - mean_env
    env_book = kmeans(dev, np.ones(len(dev)), cfg.codes, cfg.iterations, rng)
    env_q = env_book[rvqlab.nearest(dev, env_book)] + mean_env
    scale = rvqlab.band_to_bins(np.exp2(env_q)).astype(np.float32)
    residual = (coefs / scale).astype(np.float32)
    weight = scale.astype(np.float64) ** (2 * cfg.alpha)
    weight /= weight.mean()
    slices, stages = [], []
    cands = candidate_slices()
    for s in range(cfg.stages):
        energy = weight * residual.astype(np.float64) ** 2
        scores = [energy[:, lo:hi].sum() * (1 - 2.0 ** (-2 * np.log2(cfg.codes) / (hi - lo))) for lo, hi in cands]
        lo, hi = cands[int(np.argmax(scores))]
        frame_w = weight[:, lo:hi].mean(1)
        book = kmeans(residual[:, lo:hi], frame_w, cfg.codes, cfg.iterations, rng)
        residual[:, lo:hi] -= book[rvqlab.nearest(residual[:, lo:hi], book)]
        slices.append((lo, hi))
        stages.append(book)
        if log:
            left = (weight * residual.astype(np.float64) ** 2).sum() / (weight * (coefs / scale) ** 2).sum()
            print(f"stage {s + 1:2d}: bins {lo:3d}-{hi:3d}  weighted residual {10 * np.log10(left):6.2f} dB  ({time.time() - t0:.0f} s)")
    return rvqlab.Codebooks(env_book, mean_env, np.asarray(slices), tuple(stages))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train rvq-lab's codebooks (seeded, reproducible).")
    ap.add_argument("--out", type=Path, default=None, help="codebook file (default: the bundled resources/rvq_lab/codebooks.npz)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--small", action="store_true", help="a tiny configuration that checks the script works")
    args = ap.parse_args(argv)
    cfg = Config.small() if args.small else Config()
    cfg = Config(**{**asdict(cfg), "seed": args.seed})
    out = args.out or resources_dir().joinpath(*rvqlab.CODEBOOK_FILE)
    t0 = time.time()
    tables = train(cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    tables.save(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    manifest = {"file": out.name, "sha256": digest, "config": asdict(cfg), "seconds": round(time.time() - t0, 1)}
    out.with_name("manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...) in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
