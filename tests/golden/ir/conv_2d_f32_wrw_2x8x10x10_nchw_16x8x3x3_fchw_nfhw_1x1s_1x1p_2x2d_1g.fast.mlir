module {
  func.func @conv_2d_f32_wrw_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_2x2d_1g(%arg0: tensor<2x16x8x8xf32>, %arg1: tensor<2x8x10x10xf32>) -> tensor<16x8x3x3xf32> {
    %x1 = tensor.expand_shape %arg1 [[0], [1, 2], [3], [4]] output_shape [2, 1, 8, 10, 10] : tensor<2x8x10x10xf32> into tensor<2x1x8x10x10xf32>
    %x2 = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [2, 1, 16, 8, 8] : tensor<2x16x8x8xf32> into tensor<2x1x16x8x8xf32>
    %c3 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<2x1x8x10x10xf32> into tensor<2x8x10x10xf32>
    %c4 = tensor.collapse_shape %x2 [[0], [1, 2], [3], [4]] : tensor<2x1x16x8x8xf32> into tensor<2x16x8x8xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %p5 = tensor.pad %c3 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_f32 : f32
    } : tensor<2x8x10x10xf32> to tensor<2x8x12x12xf32>
    %e6 = tensor.empty() : tensor<2x8x8x8x3x3xf32>
    %col7 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 1 + d4 * 2, d2 * 1 + d5 * 2)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p5 : tensor<2x8x12x12xf32>) outs(%e6 : tensor<2x8x8x8x3x3xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<2x8x8x8x3x3xf32>
    %ob8 = util.optimization_barrier %col7 : tensor<2x8x8x8x3x3xf32>
    %c9 = tensor.collapse_shape %c4 [[0], [1], [2, 3]] : tensor<2x16x8x8xf32> into tensor<2x16x64xf32>
    %c10 = tensor.collapse_shape %ob8 [[0], [1], [2], [3, 4, 5]] : tensor<2x8x8x8x3x3xf32> into tensor<2x8x8x72xf32>
    %c11 = tensor.collapse_shape %c10 [[0], [1, 2], [3]] : tensor<2x8x8x72xf32> into tensor<2x64x72xf32>
    %e12 = tensor.empty() : tensor<2x16x72xf32>
    %z13 = linalg.fill ins(%zero_f32 : f32) outs(%e12 : tensor<2x16x72xf32>) -> tensor<2x16x72xf32>
    %bmm14 = linalg.batch_matmul ins(%c9, %c11 : tensor<2x16x64xf32>, tensor<2x64x72xf32>) outs(%z13 : tensor<2x16x72xf32>) -> tensor<2x16x72xf32>
    %e15 = tensor.empty() : tensor<16x72xf32>
    %z16 = linalg.fill ins(%zero_f32 : f32) outs(%e15 : tensor<16x72xf32>) -> tensor<16x72xf32>
    %sum17 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%bmm14 : tensor<2x16x72xf32>) outs(%z16 : tensor<16x72xf32>) {
    ^bb0(%a: f32, %o: f32):
      %s = arith.addf %a, %o : f32
      linalg.yield %s : f32
    } -> tensor<16x72xf32>
    %x18 = tensor.expand_shape %sum17 [[0], [1, 2, 3]] output_shape [16, 8, 3, 3] : tensor<16x72xf32> into tensor<16x8x3x3xf32>
    %x19 = tensor.expand_shape %x18 [[0, 1], [2], [3], [4]] output_shape [1, 16, 8, 3, 3] : tensor<16x8x3x3xf32> into tensor<1x16x8x3x3xf32>
    %c20 = tensor.collapse_shape %x19 [[0, 1], [2], [3], [4]] : tensor<1x16x8x3x3xf32> into tensor<16x8x3x3xf32>
    return %c20 : tensor<16x8x3x3xf32>
  }
  func.func @conv_2d_f32_wrw_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_2x2d_1g_into(%arg0: tensor<2x16x8x8xf32>, %arg1: tensor<2x8x10x10xf32>, %storage: tensor<16x8x3x3xf32> {iree.abi.output = 0 : index}) -> tensor<16x8x3x3xf32> {
    %result = call @conv_2d_f32_wrw_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_2x2d_1g(%arg0, %arg1) : (tensor<2x16x8x8xf32>, tensor<2x8x10x10xf32>) -> tensor<16x8x3x3xf32>
    return %result : tensor<16x8x3x3xf32>
  }
}
