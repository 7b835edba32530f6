#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>
#map2 = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d1, d5, d6)>
#map3 = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
module @module {
  util.func public @conv_2d_f32_bwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g$async(%arg0: !hal.buffer_view, %arg1: !hal.buffer_view, %arg2: !hal.fence, %arg3: !hal.fence) -> !hal.buffer_view attributes {inlining_policy = #util.inline.never, iree.abi.model = "coarse-fences", iree.abi.stub} {
    %cst = arith.constant 0.000000e+00 : f32
    %c2 = arith.constant 2 : index
    %0 = hal.tensor.import wait(%arg2) => %arg0 : !hal.buffer_view -> tensor<2x16x5x5xf32>
    %1 = hal.tensor.import wait(%arg2) => %arg1 : !hal.buffer_view -> tensor<16x8x3x3xf32>
    %2 = tensor.empty() : tensor<2x8x10x10xf32>
    %3 = tensor.empty() : tensor<16x8x3x3xf32>
    %4 = linalg.fill ins(%cst : f32) outs(%3 : tensor<16x8x3x3xf32>) -> tensor<16x8x3x3xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1 : tensor<16x8x3x3xf32>) outs(%4 : tensor<16x8x3x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %12 = linalg.index 0 : index
      %13 = linalg.index 1 : index
      %14 = linalg.index 2 : index
      %15 = linalg.index 3 : index
      %16 = arith.subi %c2, %14 : index
      %17 = arith.subi %c2, %15 : index
      %extracted = tensor.extract %1[%12, %13, %16, %17] : tensor<16x8x3x3xf32>
      linalg.yield %extracted : f32
    } -> tensor<16x8x3x3xf32>
    %6 = tensor.empty() : tensor<2x16x12x12xf32>
    %7 = linalg.fill ins(%cst : f32) outs(%6 : tensor<2x16x12x12xf32>) -> tensor<2x16x12x12xf32>
    %inserted_slice = tensor.insert_slice %0 into %7[0, 0, 1, 1] [2, 16, 5, 5] [1, 1, 2, 2] : tensor<2x16x5x5xf32> into tensor<2x16x12x12xf32>
    %8 = linalg.fill ins(%cst : f32) outs(%2 : tensor<2x8x10x10xf32>) -> tensor<2x8x10x10xf32>
    %9 = linalg.generic {indexing_maps = [#map1, #map2, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%inserted_slice, %5 : tensor<2x16x12x12xf32>, tensor<16x8x3x3xf32>) outs(%8 : tensor<2x8x10x10xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %12 = arith.mulf %in, %in_0 : f32
      %13 = arith.addf %12, %out : f32
      linalg.yield %13 : f32
    } -> tensor<2x8x10x10xf32>
    %10 = hal.tensor.barrier join(%9 : tensor<2x8x10x10xf32>) => %arg3 : !hal.fence
    %11 = hal.tensor.export %10 : tensor<2x8x10x10xf32> -> !hal.buffer_view
    util.return %11 : !hal.buffer_view
  }
  util.func public @conv_2d_f32_bwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g(%arg0: !hal.buffer_view, %arg1: !hal.buffer_view) -> !hal.buffer_view attributes {iree.abi.stub} {
    %0 = util.null : !hal.fence
    %c-1_i32 = arith.constant -1 : i32
    %c0 = arith.constant 0 : index
    %device_0 = hal.devices.get %c0 : !hal.device
    %fence = hal.fence.create device(%device_0 : !hal.device) flags("None") : !hal.fence
    %1 = util.call @conv_2d_f32_bwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g$async(%arg0, %arg1, %0, %fence) : (!hal.buffer_view, !hal.buffer_view, !hal.fence, !hal.fence) -> !hal.buffer_view
    %status = hal.fence.await until([%fence]) timeout_millis(%c-1_i32) flags("None") : i32
    util.return %1 : !hal.buffer_view
  }
}
