module @module {
  util.func public @conv_2d_f32_fwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_1x1d_1g$async(%arg0: !hal.buffer_view, %arg1: !hal.buffer_view, %arg2: !hal.fence, %arg3: !hal.fence) -> !hal.buffer_view attributes {inlining_policy = #util.inline.never, iree.abi.model = "coarse-fences", iree.abi.stub} {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = hal.tensor.import wait(%arg2) => %arg0 : !hal.buffer_view -> tensor<2x8x10x10xf32>
    %1 = hal.tensor.import wait(%arg2) => %arg1 : !hal.buffer_view -> tensor<16x8x3x3xf32>
    %padded = tensor.pad %0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index):
      tensor.yield %cst : f32
    } : tensor<2x8x10x10xf32> to tensor<2x8x12x12xf32>
    %2 = tensor.empty() : tensor<2x16x10x10xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<2x16x10x10xf32>) -> tensor<2x16x10x10xf32>
    %4 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %1 : tensor<2x8x12x12xf32>, tensor<16x8x3x3xf32>) outs(%3 : tensor<2x16x10x10xf32>) -> tensor<2x16x10x10xf32>
    %5 = hal.tensor.barrier join(%4 : tensor<2x16x10x10xf32>) => %arg3 : !hal.fence
    %6 = hal.tensor.export %5 : tensor<2x16x10x10xf32> -> !hal.buffer_view
    util.return %6 : !hal.buffer_view
  }
  util.func public @conv_2d_f32_fwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_1x1d_1g(%arg0: !hal.buffer_view, %arg1: !hal.buffer_view) -> !hal.buffer_view attributes {iree.abi.stub} {
    %0 = util.null : !hal.fence
    %c-1_i32 = arith.constant -1 : i32
    %c0 = arith.constant 0 : index
    %device_0 = hal.devices.get %c0 : !hal.device
    %fence = hal.fence.create device(%device_0 : !hal.device) flags("None") : !hal.fence
    %1 = util.call @conv_2d_f32_fwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_1x1d_1g$async(%arg0, %arg1, %0, %fence) : (!hal.buffer_view, !hal.buffer_view, !hal.fence, !hal.fence) -> !hal.buffer_view
    %status = hal.fence.await until([%fence]) timeout_millis(%c-1_i32) flags("None") : i32
    util.return %1 : !hal.buffer_view
  }
}
