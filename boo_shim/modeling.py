"""Drop-in convolution modules on boo's kernels, and the helper that swaps a model's convs.

    from boo_shim.modeling import BooConv2d, replace_convs_with_boo
    conv = BooConv2d(16, 32, 3, padding=1)          # nn.Conv2d's parameters and state_dict keys
    model = replace_convs_with_boo(model)           # every nn.Conv*d / nn.ConvTranspose*d, in place

`BooConv{1,2,3}d` and `BooConvTranspose{1,2,3}d` subclass the torch modules and change only
how the convolution is computed (`boo_shim.ops.boo_conv`), so initialisation, `state_dict`,
`load_state_dict`, `padding_mode`, `output_size` and `isinstance(m, nn.Conv2d)` behave as
before.
"""

from __future__ import annotations

import warnings
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .ops import boo_conv

__all__ = [
    "BooConv1d",
    "BooConv2d",
    "BooConv3d",
    "BooConvTranspose1d",
    "BooConvTranspose2d",
    "BooConvTranspose3d",
    "replace_convs_with_boo",
]


class _BooConvMixin:
    """`_conv_forward` of nn.Conv*d through boo. `execute` as in `boo_conv` (None: BOO_EXECUTE)."""

    boo_execute: str | None = None

    def _conv_forward(self, input, weight, bias):
        padding = self.padding
        if self.padding_mode != "zeros":
            # As torch does it: the padding is applied to the input, the conv itself pads none.
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = 0
        return boo_conv(input, weight, bias, stride=self.stride, padding=padding, dilation=self.dilation,
                        groups=self.groups, execute=self.boo_execute)


class _BooConvTransposeMixin:
    boo_execute: str | None = None

    def forward(self, input, output_size: list[int] | None = None):
        if self.padding_mode != "zeros":
            raise ValueError(f"Only `zeros` padding mode is supported for {type(self).__name__}")
        nd = len(self.kernel_size)
        output_padding = self._output_padding(input, output_size, self.stride, self.padding, self.kernel_size,
                                              nd, self.dilation)
        return boo_conv(input, self.weight, self.bias, stride=self.stride, padding=self.padding,
                        dilation=self.dilation, groups=self.groups, transposed=True,
                        output_padding=output_padding, execute=self.boo_execute)


def _init(self, base, args, kwargs):
    execute = kwargs.pop("execute", None)
    base.__init__(self, *args, **kwargs)
    self.boo_execute = execute


class BooConv1d(_BooConvMixin, nn.Conv1d):
    def __init__(self, *args, execute: str | None = None, **kwargs):
        _init(self, nn.Conv1d, args, {**kwargs, "execute": execute})


class BooConv2d(_BooConvMixin, nn.Conv2d):
    def __init__(self, *args, execute: str | None = None, **kwargs):
        _init(self, nn.Conv2d, args, {**kwargs, "execute": execute})


class BooConv3d(_BooConvMixin, nn.Conv3d):
    def __init__(self, *args, execute: str | None = None, **kwargs):
        _init(self, nn.Conv3d, args, {**kwargs, "execute": execute})


class BooConvTranspose1d(_BooConvTransposeMixin, nn.ConvTranspose1d):
    def __init__(self, *args, execute: str | None = None, **kwargs):
        _init(self, nn.ConvTranspose1d, args, {**kwargs, "execute": execute})


class BooConvTranspose2d(_BooConvTransposeMixin, nn.ConvTranspose2d):
    def __init__(self, *args, execute: str | None = None, **kwargs):
        _init(self, nn.ConvTranspose2d, args, {**kwargs, "execute": execute})


class BooConvTranspose3d(_BooConvTransposeMixin, nn.ConvTranspose3d):
    def __init__(self, *args, execute: str | None = None, **kwargs):
        _init(self, nn.ConvTranspose3d, args, {**kwargs, "execute": execute})


_SWAPS = {
    nn.Conv1d: (1, BooConv1d),
    nn.Conv2d: (2, BooConv2d),
    nn.Conv3d: (3, BooConv3d),
    nn.ConvTranspose1d: (1, BooConvTranspose1d),
    nn.ConvTranspose2d: (2, BooConvTranspose2d),
    nn.ConvTranspose3d: (3, BooConvTranspose3d),
}


def _swap(old: nn.Module, cls: type, execute: str | None) -> nn.Module:
    """A `cls` that is `old` in all but its class: the same Parameter and buffer objects (so
    optimizers built before the swap keep working), hooks and training flag."""
    new = cls.__new__(cls)
    state = dict(old.__dict__)
    for name, value in state.items():
        if isinstance(value, (dict, set)):  # _parameters, _buffers, hook dicts...: not shared
            state[name] = type(value)(value)
    new.__dict__.update(state)
    new.boo_execute = execute
    return new


_DERIVED: dict[type, type] = {}


def _boo_class(kind: type) -> type | None:
    """The boo class for a module of type `kind`, or None when boo cannot stand in for it.

    A subclass of a torch conv that keeps torch's forward (torchvision's Conv3DSimple adds only
    a static method) gets a boo class derived from it, so its extra methods stay; one that
    computes something else in forward is not boo's to replace.
    """
    if kind in _SWAPS:
        return _SWAPS[kind][1]
    if kind in _DERIVED:
        return _DERIVED[kind]
    base = next((b for b in kind.__mro__ if b in _SWAPS), None)
    if base is None or issubclass(kind, (_BooConvMixin, _BooConvTransposeMixin)):
        return None
    mixin = _BooConvTransposeMixin if issubclass(base, nn.modules.conv._ConvTransposeNd) else _BooConvMixin
    hooks = ("forward", "_conv_forward")
    if any(getattr(kind, h, None) is not getattr(base, h, None) for h in hooks):
        _DERIVED[kind] = None
        return None
    _DERIVED[kind] = type(f"Boo{kind.__name__}", (mixin, kind), {"__module__": __name__})
    return _DERIVED[kind]


def _matches(module: nn.Module, wanted: dict) -> bool:
    for key, value in wanted.items():
        have = getattr(module, key)
        if isinstance(have, tuple) and isinstance(value, int):
            value = (value,) * len(have)
        elif isinstance(have, tuple) and isinstance(value, list):
            value = tuple(value)
        if have != value:
            return False
    return True


def replace_convs_with_boo(
    model: nn.Module,
    *,
    allowed_spatial_dims: Sequence[int] = (1, 2, 3),
    kwarg_mapping: Dict[int, Dict] | None = None,
    transposed: bool = True,
    execute: str | None = None,
) -> nn.Module:
    """Swap the convolutions of `model` for boo's, in place, sharing their weights; returns the
    model (a new module only when `model` itself is a convolution).

    - nn.Conv{1,2,3}d and, with `transposed` (default), nn.ConvTranspose{1,2,3}d are swapped,
      and so are their subclasses that keep torch's `forward`/`_conv_forward` (as a boo class
      derived from theirs). Subclasses that override those may compute something else: they
      are left alone and named in a warning.
    - `allowed_spatial_dims`: only convs of these ranks (as upstream).
    - `kwarg_mapping`: {spatial dims: {attribute: value}}: for those ranks, only modules whose
      attributes match, e.g. `{2: {"stride": 1}}` swaps only the stride-1 2D convs.
    - `execute`: "inprocess" or "daemon" for the swapped modules (default: BOO_EXECUTE).
    """
    for n in allowed_spatial_dims:
        if n not in (1, 2, 3):
            raise ValueError(f"replace_convs_with_boo: allowed_spatial_dims has {n}; use 1, 2 or 3")
    kwarg_mapping = kwarg_mapping or {}
    swapped: dict[int, nn.Module] = {}
    left_alone: list[str] = []

    def replacement(name: str, module: nn.Module) -> nn.Module | None:
        if id(module) in swapped:  # a module used twice stays one module
            return swapped[id(module)]
        if not isinstance(module, tuple(_SWAPS)) or isinstance(module, (_BooConvMixin, _BooConvTransposeMixin)):
            return None
        cls = _boo_class(type(module))
        if cls is None:
            left_alone.append(f"{name or '<model>'} ({type(module).__name__})")
            return None
        nd = len(module.kernel_size)
        if nd not in allowed_spatial_dims or (issubclass(cls, _BooConvTransposeMixin) and not transposed):
            return None
        if not _matches(module, kwarg_mapping.get(nd, {})):
            return None
        new = swapped[id(module)] = _swap(module, cls, execute)
        return new

    root = replacement("", model)
    if root is not None:
        return root
    for parent_name, parent in list(model.named_modules(remove_duplicate=False)):
        for child_name, child in list(parent._modules.items()):
            if child is None:
                continue
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            new = replacement(full, child)
            if new is not None:
                parent._modules[child_name] = new
    if left_alone:
        warnings.warn("replace_convs_with_boo left these subclassed convolutions alone: "
                      + ", ".join(sorted(set(left_alone))), stacklevel=2)
    return model
