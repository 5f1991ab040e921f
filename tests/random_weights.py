"""Random-weight checkpoints in each package's real file format and cache layout.

No pretrained weights can be downloaded here, so tests and benchmarks build each codec's real
architecture with fresh weights, fill the codebooks that start as zeros (EnCodec, Mimi) with noise
so that different codes decode differently, and write the checkpoint exactly where and how the
package's own downloader would: EnCodec ``.th`` in torch hub's checkpoint folder, DAC ``.pth``
(``BaseModel.save`` format) in ``~/.cache/descript/dac``, SNAC ``config.json`` +
``pytorch_model.bin``, Mimi ``.safetensors`` and SpeechTokenizer ``config.json`` + ``SpeechTokenizer.pt``
(in its repository's ``speechtokenizer_hubert_avg`` folder) in the Hugging Face hub cache (blobs,
snapshots, refs). The app then loads them through its ordinary offline code path.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from explorer.codecs import dac_codec, encodec_codec, mimi_codec, snac_codec, speechtokenizer_codec
from explorer.codecs.weights import WeightsSpec, descript_cache, torch_hub_checkpoints


def _noise_(t: torch.Tensor, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    t.copy_(torch.randn(t.shape, generator=g) * 0.5)


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def write_hf_snapshot(repo: str, files: dict[str, bytes], subfolder: str = "") -> Path:
    """Lay ``files`` out as ``hf_hub_download`` does: blobs by hash, a snapshot of relative symlinks (in the
    repository's ``subfolder``, if any), refs/main. Returns the folder that holds the links."""
    root = hf_cache_dir() / ("models--" + repo.replace("/", "--"))
    commit = hashlib.sha1(repo.encode()).hexdigest()
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    folder = root / "snapshots" / commit / subfolder
    folder.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = folder / name
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(blob, folder))
    return folder


def _bytes_of(obj: object) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def write_encodec(name: str) -> Path:
    torch.manual_seed(1)
    model = encodec_codec.build(name)
    for k, layer in enumerate(model.quantizer.vq.layers):
        _noise_(layer._codebook.embed, 100 + k)
        layer._codebook.inited.fill_(1.0)
    target = torch_hub_checkpoints() / encodec_codec.VARIANTS[name]["checkpoint"]
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), target)
    return target


def write_dac(name: str) -> Path:
    torch.manual_seed(2)
    model = dac_codec.build(name)
    target = descript_cache() / dac_codec.VARIANTS[name]["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(target), package=False)
    return target


def write_snac(name: str) -> Path:
    from snac import SNAC

    torch.manual_seed(3)
    config = snac_codec.CONFIGS[name]
    model = SNAC(**config)
    return write_hf_snapshot(snac_codec.repo(name), {
        "config.json": json.dumps(config).encode(),
        "pytorch_model.bin": _bytes_of(model.state_dict()),
    })


def write_mimi(name: str = "mimi") -> Path:
    from safetensors.torch import save

    torch.manual_seed(4)
    model = mimi_codec.build()
    q = model.quantizer
    layers = list(q.rvq_first.vq.layers) + list(q.rvq_rest.vq.layers)
    for k, layer in enumerate(layers):
        cb = layer._codebook
        _noise_(cb.embedding_sum, 200 + k)
        cb.cluster_usage.fill_(1.0)
        cb._initialized.fill_(1.0)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    from moshi.models import loaders

    return write_hf_snapshot(loaders.DEFAULT_REPO, {loaders.MIMI_NAME: save(state)})


SPEECHTOKENIZER_TRAINING = {"segment_size": 48000, "num_mels": 80, "n_fft": 1024, "hop_size": 240, "win_size": 1024,
                            "sampling_rate": 16000, "fmin": 0, "fmax": 8000, "fmax_for_loss": None, "num_workers": 12,
                            "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54322", "world_size": 1}}
"""Some of the training settings the hub's config.json holds beside the architecture (the model reads none)."""


def write_speechtokenizer(name: str = "speechtokenizer") -> Path:
    torch.manual_seed(6)
    model = speechtokenizer_codec.build()
    for k, layer in enumerate(model.quantizer.vq.layers):
        _noise_(layer._codebook.embed, 300 + k)
        layer._codebook.inited.fill_(1.0)
    config = {**speechtokenizer_codec.ARCHITECTURE, **SPEECHTOKENIZER_TRAINING}
    return write_hf_snapshot(speechtokenizer_codec.REPO, {
        "config.json": json.dumps(config).encode(),
        "SpeechTokenizer.pt": _bytes_of(model.state_dict()),
    }, subfolder=speechtokenizer_codec.SUBFOLDER)


WRITERS = {
    "encodec": write_encodec,
    "dac": write_dac,
    "snac": write_snac,
    "mimi": write_mimi,
    "speechtokenizer": write_speechtokenizer,
}


def ensure(name: str) -> None:
    """Write random weights for codec ``name`` unless they are already in place."""
    from explorer.codecs.registry import entry, weights_available

    if weights_available(name):
        return
    WRITERS[entry(name).info().family](name)


def spec_of(name: str) -> WeightsSpec | None:
    from explorer.codecs.registry import entry

    return entry(name).weights_spec()
