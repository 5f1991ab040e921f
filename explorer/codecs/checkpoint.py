"""Checking a checkpoint against the model it is meant for, before any of it is used.

A checkpoint is data from anywhere: another codec's file, another variant's, a file cut short or
edited by hand. ``model.load_state_dict`` catches some of that with a traceback-sized message and
lets the rest through silently (an int tensor is cast into a float weight, NaN weights decode to
an all-NaN WAV). :func:`load_checked` compares the loaded object with the model's own
``state_dict()`` first, entry by entry (names, shapes, kinds of number, finiteness), and says what
is wrong in one sentence naming the codec and the file; only then does it load. The same checks
serve rvq-lab's ``.npz`` codebooks, whose shapes are read from the archive's headers before any
array is allocated (:func:`npz_layouts`).

A ``config.json`` beside the weights (SNAC, SpeechTokenizer) is checked the same way before anything is
built (:func:`check_config`): the model is always built from the app's own copy of the architecture,
and a config that describes another one is refused, naming the setting.

:func:`weights_id` names the exact weights a codec was built from (file name and SHA-256), so a
token file can record them and a decode with other weights can be noticed. The hash is
:func:`explorer.codecs.weights.sha256`, the one that also checks downloads, cached per file version:
loading the same codec again hashes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import torch
from torch.nn.utils.weight_norm import WeightNorm

from explorer.codecs.weights import load_state, reason
from explorer.codecs.weights import sha256 as sha256  # the one hash, shared with the download checks
from explorer.core.errors import WeightsError


def weights_id(path: Path) -> dict[str, str]:
    """Which weights a codec was built from: ``{"file": name, "sha256": hex digest}``.

    Parameters
    ----------
    path : Path
        The checkpoint file (the weights themselves, not a config beside them).

    Returns
    -------
    dict[str, str]
        The file's name and the SHA-256 of its bytes.

    Raises
    ------
    WeightsError
        If the file cannot be read (it vanished after loading, say).
    """
    try:
        return {"file": path.name, "sha256": sha256(path)}
    except OSError as exc:
        raise WeightsError(f"'{path.name}' could not be read to identify its weights ({reason(exc)}).") from exc


def unfit(codec: str, path: Path, what: str) -> WeightsError:
    """The error for a checkpoint that does not fit ``codec``: one sentence saying ``what``."""
    return WeightsError(f"{quoted(path.name, 80)} does not fit {codec}: {what}.")


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as a user reads it: ``512x64``, or ``a single number`` for a scalar."""
    return "x".join(str(n) for n in shape) if len(shape) else "a single number"


def quoted(name: str, limit: int = 60) -> str:
    """A name in quotes, shortened from the left when long (the end of a weight's name says most)."""
    return f"'{name}'" if len(name) <= limit else f"'...{name[-(limit - 3):]}'"


@dataclass(frozen=True)
class Layout:
    """What an array must be, or is, before its values matter: its shape and kind of number.

    ``kind`` is ``floating-point``, ``integer``, ``boolean``, ``complex`` or ``other``; ``dtype``
    names the exact type, for messages.
    """

    shape: tuple[int, ...]
    kind: str
    dtype: str

    @classmethod
    def of(cls, shape: Sequence[int], dtype: torch.dtype | np.dtype[Any]) -> Layout:
        """The layout of an array of ``shape`` and ``dtype`` (torch's or numpy's)."""
        if isinstance(dtype, torch.dtype):
            kind = "floating-point" if dtype.is_floating_point else "complex" if dtype.is_complex else (
                "boolean" if dtype == torch.bool else "integer" if not str(dtype).startswith("torch.q") else "other")
            return cls(tuple(shape), kind, str(dtype).removeprefix("torch."))
        kinds = {"f": "floating-point", "i": "integer", "u": "integer", "b": "boolean", "c": "complex"}
        return cls(tuple(int(n) for n in shape), kinds.get(dtype.kind, "other"), str(dtype))


def check_layout(found: Mapping[str, Layout], expected: Mapping[str, Layout], codec: str, path: Path, noun: str = "weight") -> None:
    """Check that a checkpoint has exactly the expected arrays, each of the expected shape and kind.

    Parameters
    ----------
    found : Mapping[str, Layout]
        The checkpoint's arrays, by name.
    expected : Mapping[str, Layout]
        The model's arrays, by name, in the order to check them.
    codec : str
        The codec's name, for the message.
    path : Path
        The checkpoint file, for the message.
    noun : str
        What the arrays are called in the message (``weight``, ``array``).

    Raises
    ------
    WeightsError
        Naming the first array missing, unexpected, of another shape or of another kind.
    """
    _check_names(list(found), list(expected), codec, path, noun)
    for name, want in expected.items():
        got = found[name]
        if got.shape != want.shape:
            raise unfit(
                codec, path,
                f"{noun} {quoted(name)} is {shape_text(got.shape)} here, the model needs {shape_text(want.shape)} "
                "(a checkpoint for another variant?)",
            )
        if got.kind != want.kind:
            raise unfit(codec, path, f"{noun} {quoted(name)} holds {got.dtype} values, the model needs {want.kind} ones")


def check_finite(name: str, values: torch.Tensor, codec: str, path: Path) -> None:
    """Refuse NaN or infinite values (they decode to an all-NaN WAV), naming the array.

    Parameters
    ----------
    name : str
        The array's name in the checkpoint.
    values : torch.Tensor
        Its values (integers are always finite and pass).
    codec : str
        The codec's name, for the message.
    path : Path
        The checkpoint file, for the message.

    Raises
    ------
    WeightsError
        If any value is NaN or infinite.
    """
    if values.is_floating_point() and not bool(torch.isfinite(values).all()):
        raise unfit(codec, path, f"it holds NaN or infinite values in {quoted(name)}")


def check_state(state: object, model: torch.nn.Module, codec: str, path: Path) -> dict[str, torch.Tensor]:
    """Check a loaded checkpoint against ``model``'s own state dict; return it if it fits.

    Parameters
    ----------
    state : object
        What the checkpoint file held.
    model : torch.nn.Module
        The freshly built architecture the weights are for.
    codec : str
        The codec's name, for the message.
    path : Path
        The checkpoint file, for the message.

    Returns
    -------
    dict[str, torch.Tensor]
        ``state``, now known to have exactly the model's weights, each of the right shape and
        kind of number, with finite floating-point values.

    Raises
    ------
    WeightsError
        Naming the first thing that does not fit.
    """
    expected = {k: Layout.of(v.shape, v.dtype) for k, v in model.state_dict().items()}
    tensors = _tensor_table(state, list(expected), codec, path)
    check_layout({k: Layout.of(v.shape, v.dtype) for k, v in tensors.items()}, expected, codec, path)
    for name, values in tensors.items():
        check_finite(name, values, codec, path)
    return tensors


def load_checked(model: torch.nn.Module, state: object, codec: str, path: Path) -> None:
    """Check ``state`` with :func:`check_state`, then load it into ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        The freshly built architecture.
    state : object
        What the checkpoint file held.
    codec : str
        The codec's name, for messages.
    path : Path
        The checkpoint file, for messages.

    Raises
    ------
    WeightsError
        If the checkpoint does not fit, or the package refuses it all the same.
    """
    tensors = check_state(state, model, codec, path)
    try:
        model.load_state_dict(tensors)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise unfit(codec, path, f"the model refuses it ({reason(exc)})") from exc


def npz_layouts(archive: np.lib.npyio.NpzFile, codec: str, path: Path) -> dict[str, Layout]:
    """The layout of every array in an ``.npz`` archive, read from the headers alone.

    Nothing is allocated for an array until its declared shape has been checked, so an archive
    that declares (or decompresses to) a gigantic array costs nothing.

    Parameters
    ----------
    archive : numpy.lib.npyio.NpzFile
        The open archive.
    codec : str
        The codec's name, for the message.
    path : Path
        The archive's file, for the message.

    Returns
    -------
    dict[str, Layout]
        By array name (the member name without ``.npy``).

    Raises
    ------
    WeightsError
        If a member is not a plain ``.npy`` array.
    """
    npy: Any = np.lib.format  # numpy's .npy header readers carry no type hints
    out = {}
    for member in archive.zip.namelist():
        name = member.removesuffix(".npy")
        with archive.zip.open(member) as f:
            version = npy.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise unfit(codec, path, f"its array {quoted(name)} is stored in an unsupported .npy version {version}")
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(f)
        out[name] = Layout.of(shape, dtype)
    return out


def _tensor_table(state: object, names: list[str], codec: str, path: Path) -> dict[str, torch.Tensor]:
    """``state`` as a dict of exactly ``names`` to plain tensors, or the error saying what it is instead.

    The names are compared before the values, so another codec's file is called that, whatever
    else is in it.
    """
    if not isinstance(state, dict):
        raise unfit(codec, path, f"it holds {describe(state)} where a table of named weights belongs")
    odd = [k for k in state if not isinstance(k, str)]
    if odd:
        raise unfit(codec, path, f"it has a weight named by {describe(odd[0])} instead of a text name")
    _check_names(list(state), names, codec, path, "weight")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise unfit(codec, path, f"its entry {quoted(key)} is {describe(value)}, not an array of weights")
        if value.layout != torch.strided or value.is_meta:
            raise unfit(codec, path, f"its weight {quoted(key)} is stored in a form the model cannot use")
    return state


def _check_names(found: list[str], expected: list[str], codec: str, path: Path, noun: str) -> None:
    """Missing and unexpected names, in one sentence."""
    have, want = set(found), set(expected)
    missing = [k for k in expected if k not in have]
    extra = [k for k in found if k not in want]
    if missing and extra:
        raise unfit(
            codec, path,
            f"it lacks {len(missing)} of the model's {len(expected)} {noun}s and has {len(extra)} it does not use "
            "(it may be another codec's checkpoint)",
        )
    if len(missing) == 1:
        raise unfit(codec, path, f"it lacks the {noun} {quoted(missing[0])} (cut short, or for another variant?)")
    if missing:
        raise unfit(codec, path, f"it lacks {len(missing)} of the model's {len(expected)} {noun}s, e.g. {quoted(missing[0])} (cut short, or for another variant?)")
    if len(extra) == 1:
        raise unfit(codec, path, f"it has {'an' if noun[0] in 'aeiou' else 'a'} {noun} {quoted(extra[0])} the model does not use (a checkpoint for another variant?)")
    if extra:
        raise unfit(codec, path, f"it has {len(extra)} {noun}s the model does not use, e.g. {quoted(extra[0])} (a checkpoint for another variant?)")


def describe(value: object) -> str:
    """What a value is, in a few words: ``a list``, ``a bare tensor``, ``an int``.

    Parameters
    ----------
    value : object
        Anything a checkpoint may hold.

    Returns
    -------
    str
        An article and a type name.
    """
    if isinstance(value, torch.Tensor):
        return "a bare tensor"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


MAX_CONFIG_BYTES = 1 << 16
"""A config.json is a few hundred bytes; a larger one is not read."""


def check_config(path: Path, codec: str, expected: Mapping[str, Any], kind: str, others: bool = False) -> None:
    """Refuse a config.json that does not describe exactly ``codec``'s architecture.

    The model is always built from ``expected``, so a config that differs in any of its settings (a
    string for a number, a decoder a thousand times wider, a missing setting) is refused before
    anything is allocated, naming the first setting that differs.

    Parameters
    ----------
    path : Path
        The config.json beside the weights.
    codec : str
        The codec's name, for the message.
    expected : Mapping[str, Any]
        The architecture's settings, as the pretrained model's config.json holds them.
    kind : str
        What the file is called in a message (``SNAC config.json``).
    others : bool
        Whether settings outside ``expected`` may be there too (SpeechTokenizer's config.json also
        holds its training settings, which the model never reads); when False, any is refused.

    Raises
    ------
    WeightsError
        If the file cannot be read as JSON, or differs from ``expected``.
    """
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise unfit(codec, path, f"it is {path.stat().st_size} bytes, far more than a {kind} holds")
        config = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise WeightsError(f"{codec}: '{path.name}' is not a readable {kind} ({reason(exc)}).") from exc
    if not isinstance(config, dict):
        raise unfit(codec, path, f"it holds {describe(config)} where a table of settings belongs")
    for key in [*expected, *config]:
        if key not in config:
            raise unfit(codec, path, f"it lacks the setting {quoted(key)}")
        if key not in expected:
            if others:
                continue
            raise unfit(codec, path, f"it has a setting {quoted(key)} that {codec}'s architecture does not have")
        got, want = json.dumps(config[key]), json.dumps(expected[key])
        if got != want:
            shown = got if len(got) <= 40 else got[:37] + "..."
            raise unfit(codec, path, f"it sets {quoted(key)} to {shown}, the model has {want}")


def config_and_weights(paths: Sequence[Path]) -> tuple[Path | None, Path]:
    """Split the paths a codec resolved into its config.json (None when only a weights file was given,
    with ``--weights FILE``) and its weights file."""
    config = next((p for p in paths if p.name == "config.json"), None)
    return config, next((p for p in paths if p.name != "config.json"), paths[-1])


M = TypeVar("M", bound=torch.nn.Module)


def load_model(codec: str, path: Path, build: Callable[[], M], device: torch.device,
               unwrap: Callable[[object], object] = lambda state: state) -> tuple[M, dict[str, str]]:
    """Every family's load sequence: read the checkpoint, build the architecture, check the state
    against it and load it (:func:`load_checked`), move it to ``device`` for inference.

    Parameters
    ----------
    codec : str
        The codec's name, for messages.
    path : Path
        The checkpoint file.
    build : callable
        Makes the bare architecture.
    device : torch.device
        Where the model runs.
    unwrap : callable
        Takes the model's state out of what the file holds (DAC keeps it under ``state_dict``).

    Returns
    -------
    (model, identity)
        The model in eval mode on ``device``, and :func:`weights_id` of ``path``.
    """
    state = unwrap(load_state(path, codec))  # a file that is no checkpoint is refused before any build
    model = build()
    load_checked(model, state, codec, path)
    fold_weight_norms(model)
    return model.to(device).eval(), weights_id(path)


def fold_weight_norms(model: torch.nn.Module) -> int:
    """Compute each weight-normalised layer's weight once (``g * v / |v|``) instead of on every call.

    The weights are the ones the package computes on each forward, bit for bit, so the outputs are
    unchanged; a decode of a short span skips recomputing every layer's norm (measured: a 0.1 s block
    of DAC 16 kHz 268 → 206 ms, SpeechTokenizer 117 → 94 ms, 2 CPU threads). Returns how many were folded.
    """
    folded = 0
    for module in model.modules():
        if any(isinstance(hook, WeightNorm) for hook in module._forward_pre_hooks.values()):
            torch.nn.utils.remove_weight_norm(module)
            folded += 1
        parametrized = getattr(module, "parametrizations", None)
        if parametrized is not None and "weight" in parametrized:
            torch.nn.utils.parametrize.remove_parametrizations(module, "weight")
            folded += 1
    return folded


def load_with_config(codec: str, paths: Sequence[Path], config: Mapping[str, Any], kind: str, build: Callable[[], M],
                     device: torch.device, others: bool = False) -> tuple[M, dict[str, str]]:
    """The load sequence of a family whose weights come with a config.json (SNAC, SpeechTokenizer):
    the config beside the weights, when there is one, must describe ``config`` (:func:`check_config`,
    ``kind`` names it in messages, ``others`` allows training settings the model does not read), then
    :func:`load_model` builds the model from ``config`` and loads the weights."""
    config_path, weights_path = config_and_weights(paths)
    if config_path is not None:
        check_config(config_path, codec, config, kind, others=others)
    return load_model(codec, weights_path, build, device)
