module {
  func.func @conv_2d_bf16_wrw_2x9x9x16_nhwc_32x3x3x16_fhwc_nhwf_1x1s_1x1p_1x1d_1g(%arg0: tensor<2x9x9x32xbf16>, %arg1: tensor<2x9x9x16xbf16>) -> tensor<32x3x3x16xbf16> {
    %x1 = tensor.expand_shape %arg1 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 1, 16] : tensor<2x9x9x16xbf16> into tensor<2x9x9x1x16xbf16>
    %x2 = tensor.expand_shape %arg0 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 1, 32] : tensor<2x9x9x32xbf16> into tensor<2x9x9x1x32xbf16>
    %c3 = tensor.collapse_shape %x1 [[0], [1], [2], [3, 4]] : tensor<2x9x9x1x16xbf16> into tensor<2x9x9x16xbf16>
    %c4 = tensor.collapse_shape %x2 [[0], [1], [2], [3, 4]] : tensor<2x9x9x1x32xbf16> into tensor<2x9x9x32xbf16>
    %zero_bf16 = arith.constant 0.000000e+00 : bf16
    %p5 = tensor.pad %c3 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_bf16 : bf16
    } : tensor<2x9x9x16xbf16> to tensor<2x11x11x16xbf16>
    %e6 = tensor.empty() : tensor<2x3x3x16x9x9xf32>
    %col7 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4 * 1 + d1 * 1, d5 * 1 + d2 * 1, d3)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p5 : tensor<2x11x11x16xbf16>) outs(%e6 : tensor<2x3x3x16x9x9xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<2x3x3x16x9x9xf32>
    %ob8 = util.optimization_barrier %col7 : tensor<2x3x3x16x9x9xf32>
    %e9 = tensor.empty() : tensor<2x9x9x32xf32>
    %w10 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c4 : tensor<2x9x9x32xbf16>) outs(%e9 : tensor<2x9x9x32xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<2x9x9x32xf32>
    %ob11 = util.optimization_barrier %w10 : tensor<2x9x9x32xf32>
    %c12 = tensor.collapse_shape %ob8 [[0], [1, 2, 3], [4], [5]] : tensor<2x3x3x16x9x9xf32> into tensor<2x144x9x9xf32>
    %c13 = tensor.collapse_shape %c12 [[0], [1], [2, 3]] : tensor<2x144x9x9xf32> into tensor<2x144x81xf32>
    %c14 = tensor.collapse_shape %ob11 [[0], [1, 2], [3]] : tensor<2x9x9x32xf32> into tensor<2x81x32xf32>
    %e15 = tensor.empty() : tensor<2x144x32xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %z16 = linalg.fill ins(%zero_f32 : f32) outs(%e15 : tensor<2x144x32xf32>) -> tensor<2x144x32xf32>
    %bmm17 = linalg.batch_matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [1, 48, 32, 0], vector_common_parallel = [1, 8, 32, 0], vector_reduction = [0, 0, 0, 9]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c13, %c14 : tensor<2x144x81xf32>, tensor<2x81x32xf32>) outs(%z16 : tensor<2x144x32xf32>) -> tensor<2x144x32xf32>
    %e18 = tensor.empty() : tensor<144x32xf32>
    %z19 = linalg.fill ins(%zero_f32 : f32) outs(%e18 : tensor<144x32xf32>) -> tensor<144x32xf32>
    %sum20 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%bmm17 : tensor<2x144x32xf32>) outs(%z19 : tensor<144x32xf32>) {
    ^bb0(%a: f32, %o: f32):
      %s = arith.addf %a, %o : f32
      linalg.yield %s : f32
    } -> tensor<144x32xf32>
    %x21 = tensor.expand_shape %sum20 [[0, 1, 2], [3]] output_shape [3, 3, 16, 32] : tensor<144x32xf32> into tensor<3x3x16x32xf32>
    %e22 = tensor.empty() : tensor<32x16x3x3xf32>
    %t23 = linalg.transpose ins(%x21 : tensor<3x3x16x32xf32>) outs(%e22 : tensor<32x16x3x3xf32>) permutation = [3, 2, 0, 1]
    %x24 = tensor.expand_shape %t23 [[0, 1], [2], [3], [4]] output_shape [1, 32, 16, 3, 3] : tensor<32x16x3x3xf32> into tensor<1x32x16x3x3xf32>
    %e25 = tensor.empty() : tensor<1x32x3x3x16xbf16>
    %y26 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d2, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%x24 : tensor<1x32x16x3x3xf32>) outs(%e25 : tensor<1x32x3x3x16xbf16>) {
    ^bb0(%a: f32, %o: bf16):
      %tr = arith.truncf %a : f32 to bf16
      linalg.yield %tr : bf16
    } -> tensor<1x32x3x3x16xbf16>
    %c27 = tensor.collapse_shape %y26 [[0, 1], [2], [3], [4]] : tensor<1x32x3x3x16xbf16> into tensor<32x3x3x16xbf16>
    return %c27 : tensor<32x3x3x16xbf16>
  }
  func.func @conv_2d_bf16_wrw_2x9x9x16_nhwc_32x3x3x16_fhwc_nhwf_1x1s_1x1p_1x1d_1g_into(%arg0: tensor<2x9x9x32xbf16>, %arg1: tensor<2x9x9x16xbf16>, %storage: tensor<32x3x3x16xbf16> {iree.abi.output = 0 : index}) -> tensor<32x3x3x16xbf16> {
    %result = call @conv_2d_bf16_wrw_2x9x9x16_nhwc_32x3x3x16_fhwc_nhwf_1x1s_1x1p_1x1d_1g(%arg0, %arg1) : (tensor<2x9x9x32xbf16>, tensor<2x9x9x16xbf16>) -> tensor<32x3x3x16xbf16>
    return %result : tensor<32x3x3x16xbf16>
  }
}
