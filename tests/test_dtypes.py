"""The dtype table agrees with the worlds it names: torch, numpy, MIOpen, MIOpenDriver."""

import pytest

from boo_shim import dtypes
from boo_shim.conv import ConvSignature, parse_dtype
from boo_shim.shim.descriptors import DTYPE_SIZE, DataType


@pytest.mark.parametrize("d", dtypes.ALL, ids=lambda d: d.name)
def test_record_is_consistent(d):
    assert d.torch.itemsize == d.numpy.itemsize == DTYPE_SIZE[DataType(d.miopen)]
    assert d.torch.is_floating_point
    assert dtypes.by_torch(d.torch) is d
    assert dtypes.by_numpy(d.numpy) is d
    assert all(parse_dtype(alias) is d.torch for alias in d.aliases)


@pytest.mark.parametrize("d", dtypes.ALL, ids=lambda d: d.name)
def test_command_word_round_trips(d):
    sig = ConvSignature.from_command(f"{d.command} -n 2 -c 4 -H 8 -W 8 -k 4 -y 3 -x 3 -F 1")
    assert sig.dtype is d.torch
    assert sig.to_command().split()[0] == d.command


def test_unknown_dtypes_are_key_errors():
    import numpy as np
    import torch

    with pytest.raises(KeyError):
        dtypes.by_torch(torch.float64)
    with pytest.raises(KeyError):
        dtypes.by_numpy(np.float64)
