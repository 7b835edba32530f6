"""Numerics of every supported family through IREE against the float64 torch reference."""

import numpy as np
import pytest
import torch

from boo_shim.errors import SignatureError
from boo_shim.grammar import parse_command
from boo_shim.numerics import TOLERANCES, miopen_error, reference
from boo_shim.runtime import get_kernel, to_numpy

NHWC = "--in_layout NHWC --fil_layout NHWC --out_layout NHWC"
FAMILIES = [
    "conv -n 2 -c 4 -H 7 -W 6 -k 6 -y 3 -x 3 -p 1 -q 1 -F 0",
    f"conv -n 2 -c 8 -H 7 -W 7 -k 4 -y 3 -x 3 -u 2 -v 2 -l 2 -j 2 -p 2 -q 2 -g 2 -F 0 {NHWC}",
    f"convbfp16 -n 2 -c 8 -H 5 -W 5 -k 16 -y 1 -x 1 -F 0 {NHWC}",
    "convfp16 -n 1 -c 6 -H 6 -W 6 -k 6 -y 3 -x 3 -p 1 -q 1 -g 6 -F 0",
    "convbfp16 -_ 3 -n 1 -c 4 -! 4 -H 4 -W 5 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -F 0 "
    "--in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC",
    "conv -n 2 -c 4 -H 4 -W 5 -k 6 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 -m trans -Y 1 -X 1 -F 0",
    "conv -n 2 -c 4 -H 6 -W 6 -k 6 -y 3 -x 3 -p 1 -q 1 -b 1 -F 1",
    "conv -_ 1 -n 2 -c 4 -H 12 -k 6 -y 3 -u 2 -p 1 -F 0 --in_layout NHC --fil_layout NHC --out_layout NHC",
]
SIGS = [s for line in FAMILIES for s in parse_command(line).signatures]


@pytest.mark.parametrize("sig", SIGS, ids=lambda s: s.func_name[:60])
def test_iree_matches_float64_reference(sig):
    kernel = get_kernel(sig, "cpu")
    args = sig.get_sample_conv_args(seed=7)
    result = kernel(*args)
    assert tuple(result.shape) == sig.result_shape and result.dtype == sig.dtype
    assert miopen_error(result, reference(sig, args)) <= TOLERANCES[sig.dtype]


def test_numpy_in_numpy_out_and_out_buffer():
    sig = SIGS[0]
    kernel = get_kernel(sig, "cpu")
    args = [to_numpy(a) for a in sig.get_sample_conv_args(seed=1)]
    res = kernel(*args)
    assert isinstance(res, np.ndarray)
    out = np.empty(sig.result_shape, np.float32)
    assert kernel.run(*args, out=out) is out
    np.testing.assert_array_equal(out, res)


@pytest.mark.parametrize("sig", [SIGS[0], SIGS[2], SIGS[6]], ids=lambda s: s.func_name[:60])
def test_kernel_writes_into_out_through_its_output_entry(sig):
    """`run(out=)` on an aligned packed buffer has the kernel write there itself (the module's
    `_into` entry); any other buffer gets a copy. Either way the same bits as a fresh result,
    and nothing of the buffer's old content survives."""
    from boo_shim.runtime import aligned

    kernel = get_kernel(sig, "cpu")
    assert kernel._fn_into is not None
    for seed in (1, 2):
        args = [aligned(to_numpy(a)) for a in sig.get_sample_conv_args(seed=seed)]
        fresh = kernel.run(*args).copy()
        out = aligned(np.full(sig.result_shape, np.nan, fresh.dtype))
        assert kernel.writes_into(out, args)
        assert kernel.run(*args, out=out) is out
        np.testing.assert_array_equal(out.view(np.uint8), fresh.view(np.uint8))
    raw = np.zeros(out.nbytes + 128, np.uint8)
    start = 64 - raw.ctypes.data % 64 + 4  # 4 bytes past an aligned address
    unaligned = raw[start:start + out.nbytes].view(out.dtype).reshape(out.shape)
    strided = np.zeros(out.shape[::-1], out.dtype).T
    for other in (unaligned, strided, out[..., :1]):
        assert not kernel.writes_into(other, args)
    kernel.run(*args, out=unaligned)
    np.testing.assert_array_equal(unaligned.view(np.uint8), fresh.view(np.uint8))
    # the result over one of its own inputs: refused (the kernel would read what it overwrites)
    if args[0].shape == out.shape:
        assert not kernel.writes_into(args[0], args)


def test_results_are_not_copied_and_outlive_later_calls():
    """A result is a view of IREE's buffer for that call; it must stay valid (and unchanged)
    while later calls allocate and write their own results."""
    import gc

    sig = SIGS[0]
    kernel = get_kernel(sig, "cpu")
    first = [to_numpy(a) for a in sig.get_sample_conv_args(seed=1)]
    kept = kernel.run(*first)
    expected = kept.copy()
    assert not kept.flags.owndata  # in place: no copy of the output
    for seed in range(2, 12):
        other = kernel.run(*[to_numpy(a) for a in sig.get_sample_conv_args(seed=seed)])
        assert not np.array_equal(other, expected)
        del other
        gc.collect()
    np.testing.assert_array_equal(kept, expected)


def test_wrong_inputs_are_refused():
    sig = SIGS[0]
    kernel = get_kernel(sig, "cpu")
    x, w = sig.get_sample_conv_args()
    with pytest.raises(SignatureError, match="shape"):
        kernel(x, w[:1])
    with pytest.raises(SignatureError, match="dtype"):
        kernel(x.double(), w.double())
    with pytest.raises(SignatureError, match="expected 2"):
        kernel(x)


@pytest.mark.parametrize("sig", [SIGS[0], SIGS[3], SIGS[2]], ids=lambda s: s.func_name[:60])
def test_prepared_call_matches_run_and_sees_new_inputs(sig):
    """A PreparedCall imports its input buffers into IREE once; every call must still compute
    on that call's data (bit for bit what `Kernel.run` gives), from arrays of any strides or
    from raw bytes, and fill `out`."""
    kernel = get_kernel(sig, "cpu", device_uri="local-sync")
    prepared = kernel.prepared()
    assert prepared is not None and kernel.prepared() is prepared  # one per thread, kept
    last = None
    for seed in range(4):
        args = [to_numpy(a) for a in sig.get_sample_conv_args(seed=seed)]
        want = kernel.run(*args, check=False)
        got = prepared(*args)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(prepared(*[a.tobytes() for a in args]), want)
        if last is not None:
            assert not np.array_equal(got, last)
        last = got
        out = np.empty(sig.result_shape, want.dtype)
        assert prepared(*args, out=out) is out
        np.testing.assert_array_equal(out, want)
    # strided inputs (a transposed copy viewed back) are gathered, not misread
    x, w = [to_numpy(a) for a in sig.get_sample_conv_args(seed=9)]
    x_strided = np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)
    assert not x_strided.flags.c_contiguous
    np.testing.assert_array_equal(prepared(x_strided, w), kernel.run(x, w, check=False))


def test_prepared_call_per_thread_and_refusals():
    import threading

    sig = SIGS[0]
    kernel = get_kernel(sig, "cpu", device_uri="local-sync")
    mine = kernel.prepared()
    seen = []
    t = threading.Thread(target=lambda: seen.append(kernel.prepared()))
    t.start()
    t.join()
    assert seen[0] is not None and seen[0] is not mine
    x, w = [to_numpy(a) for a in sig.get_sample_conv_args()]
    with pytest.raises(SignatureError, match="expected"):
        mine(x, w[:1])
    with pytest.raises(SignatureError, match="expected"):
        mine(x.astype(np.float64), w)
    with pytest.raises(SignatureError, match="expected 2"):
        mine(x)
    with pytest.raises(ValueError):
        mine(x.tobytes()[:-4], w)
    with pytest.raises(SignatureError, match="output buffer"):
        mine(x, w, out=np.empty(3, np.float32))
    np.testing.assert_array_equal(mine(x, w), kernel.run(x, w, check=False))  # still good after refusals
