module {
  func.func @conv_2d_bf16_fwd_4x7x7x32_nhwc_64x1x1x32_fhwc_nhwf_1x1s_0x0p_1x1d_1g(%arg0: tensor<4x7x7x32xbf16>, %arg1: tensor<64x1x1x32xbf16>) -> tensor<4x7x7x64xbf16> {
    %x1 = tensor.expand_shape %arg0 [[0], [1], [2], [3, 4]] output_shape [4, 7, 7, 1, 32] : tensor<4x7x7x32xbf16> into tensor<4x7x7x1x32xbf16>
    %x2 = tensor.expand_shape %arg1 [[0, 1], [2], [3], [4]] output_shape [1, 64, 1, 1, 32] : tensor<64x1x1x32xbf16> into tensor<1x64x1x1x32xbf16>
    %c3 = tensor.collapse_shape %x1 [[0], [1], [2], [3, 4]] : tensor<4x7x7x1x32xbf16> into tensor<4x7x7x32xbf16>
    %c4 = tensor.collapse_shape %x2 [[0, 1], [2], [3], [4]] : tensor<1x64x1x1x32xbf16> into tensor<64x1x1x32xbf16>
    %e5 = tensor.empty() : tensor<4x7x7x32xf32>
    %w6 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c3 : tensor<4x7x7x32xbf16>) outs(%e5 : tensor<4x7x7x32xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<4x7x7x32xf32>
    %ob7 = util.optimization_barrier %w6 : tensor<4x7x7x32xf32>
    %c8 = tensor.collapse_shape %ob7 [[0, 1, 2], [3]] : tensor<4x7x7x32xf32> into tensor<196x32xf32>
    %e9 = tensor.empty() : tensor<1x1x32x64xbf16>
    %t10 = linalg.transpose ins(%c4 : tensor<64x1x1x32xbf16>) outs(%e9 : tensor<1x1x32x64xbf16>) permutation = [1, 2, 3, 0]
    %e11 = tensor.empty() : tensor<1x1x32x64xf32>
    %w12 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t10 : tensor<1x1x32x64xbf16>) outs(%e11 : tensor<1x1x32x64xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<1x1x32x64xf32>
    %ob13 = util.optimization_barrier %w12 : tensor<1x1x32x64xf32>
    %c14 = tensor.collapse_shape %ob13 [[0, 1, 2], [3]] : tensor<1x1x32x64xf32> into tensor<32x64xf32>
    %e15 = tensor.empty() : tensor<196x64xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %z16 = linalg.fill ins(%zero_f32 : f32) outs(%e15 : tensor<196x64xf32>) -> tensor<196x64xf32>
    %mm17 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [49, 64, 0], vector_common_parallel = [7, 32, 0], vector_reduction = [0, 0, 32]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c8, %c14 : tensor<196x32xf32>, tensor<32x64xf32>) outs(%z16 : tensor<196x64xf32>) -> tensor<196x64xf32>
    %x18 = tensor.expand_shape %mm17 [[0, 1, 2], [3]] output_shape [4, 7, 7, 64] : tensor<196x64xf32> into tensor<4x7x7x64xf32>
    %x19 = tensor.expand_shape %x18 [[0], [1], [2], [3, 4]] output_shape [4, 7, 7, 1, 64] : tensor<4x7x7x64xf32> into tensor<4x7x7x1x64xf32>
    %e20 = tensor.empty() : tensor<4x7x7x1x64xbf16>
    %y21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%x19 : tensor<4x7x7x1x64xf32>) outs(%e20 : tensor<4x7x7x1x64xbf16>) {
    ^bb0(%a: f32, %o: bf16):
      %tr = arith.truncf %a : f32 to bf16
      linalg.yield %tr : bf16
    } -> tensor<4x7x7x1x64xbf16>
    %c22 = tensor.collapse_shape %y21 [[0], [1], [2], [3, 4]] : tensor<4x7x7x1x64xbf16> into tensor<4x7x7x64xbf16>
    return %c22 : tensor<4x7x7x64xbf16>
  }
  func.func @conv_2d_bf16_fwd_4x7x7x32_nhwc_64x1x1x32_fhwc_nhwf_1x1s_0x0p_1x1d_1g_into(%arg0: tensor<4x7x7x32xbf16>, %arg1: tensor<64x1x1x32xbf16>, %storage: tensor<4x7x7x64xbf16> {iree.abi.output = 0 : index}) -> tensor<4x7x7x64xbf16> {
    %result = call @conv_2d_bf16_fwd_4x7x7x32_nhwc_64x1x1x32_fhwc_nhwf_1x1s_0x0p_1x1d_1g(%arg0, %arg1) : (tensor<4x7x7x32xbf16>, tensor<64x1x1x32xbf16>) -> tensor<4x7x7x64xbf16>
    return %result : tensor<4x7x7x64xbf16>
  }
}
