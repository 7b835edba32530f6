module {
  func.func @conv_2d_f32_fwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_1x1d_1g(%arg0: tensor<2x8x10x10xf32>, %arg1: tensor<16x8x3x3xf32>) -> tensor<2x16x10x10xf32> {
    %x1 = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [2, 1, 8, 10, 10] : tensor<2x8x10x10xf32> into tensor<2x1x8x10x10xf32>
    %x2 = tensor.expand_shape %arg1 [[0, 1], [2], [3], [4]] output_shape [1, 16, 8, 3, 3] : tensor<16x8x3x3xf32> into tensor<1x16x8x3x3xf32>
    %c3 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<2x1x8x10x10xf32> into tensor<2x8x10x10xf32>
    %c4 = tensor.collapse_shape %x2 [[0, 1], [2], [3], [4]] : tensor<1x16x8x3x3xf32> into tensor<16x8x3x3xf32>
    %e5 = tensor.empty() : tensor<2x10x10x8xf32>
    %t6 = linalg.transpose ins(%c3 : tensor<2x8x10x10xf32>) outs(%e5 : tensor<2x10x10x8xf32>) permutation = [0, 2, 3, 1]
    %ob7 = util.optimization_barrier %t6 : tensor<2x10x10x8xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %p8 = tensor.pad %ob7 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_f32 : f32
    } : tensor<2x10x10x8xf32> to tensor<2x12x12x8xf32>
    %e9 = tensor.empty() : tensor<3x3x8x16xf32>
    %t10 = linalg.transpose ins(%c4 : tensor<16x8x3x3xf32>) outs(%e9 : tensor<3x3x8x16xf32>) permutation = [2, 3, 1, 0]
    %ob11 = util.optimization_barrier %t10 : tensor<3x3x8x16xf32>
    %e12 = tensor.empty() : tensor<2x10x10x16xf32>
    %z13 = linalg.fill ins(%zero_f32 : f32) outs(%e12 : tensor<2x10x10x16xf32>) -> tensor<2x10x10x16xf32>
    %conv14 = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 1]> : tensor<2xi64>, strides = dense<[1, 1]> : tensor<2xi64>} ins(%p8, %ob11 : tensor<2x12x12x8xf32>, tensor<3x3x8x16xf32>) outs(%z13 : tensor<2x10x10x16xf32>) -> tensor<2x10x10x16xf32>
    %x15 = tensor.expand_shape %conv14 [[0], [1], [2], [3, 4]] output_shape [2, 10, 10, 1, 16] : tensor<2x10x10x16xf32> into tensor<2x10x10x1x16xf32>
    %ob16 = util.optimization_barrier %x15 : tensor<2x10x10x1x16xf32>
    %e17 = tensor.empty() : tensor<2x1x16x10x10xf32>
    %t18 = linalg.transpose ins(%ob16 : tensor<2x10x10x1x16xf32>) outs(%e17 : tensor<2x1x16x10x10xf32>) permutation = [0, 3, 4, 1, 2]
    %c19 = tensor.collapse_shape %t18 [[0], [1, 2], [3], [4]] : tensor<2x1x16x10x10xf32> into tensor<2x16x10x10xf32>
    return %c19 : tensor<2x16x10x10xf32>
  }
  func.func @conv_2d_f32_fwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_1x1d_1g_into(%arg0: tensor<2x8x10x10xf32>, %arg1: tensor<16x8x3x3xf32>, %storage: tensor<2x16x10x10xf32> {iree.abi.output = 0 : index}) -> tensor<2x16x10x10xf32> {
    %result = call @conv_2d_f32_fwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_1x1s_1x1p_1x1d_1g(%arg0, %arg1) : (tensor<2x8x10x10xf32>, tensor<16x8x3x3xf32>) -> tensor<2x16x10x10xf32>
    return %result : tensor<2x16x10x10xf32>
  }
}
