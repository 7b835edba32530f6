module {
  func.func @conv_3d_f32_fwd_1x3x4x6x6_ncdhw_8x3x3x3x3_fcdhw_nfdhw_1x1x1s_1x1x1p_1x1x1d_1g(%arg0: tensor<1x3x4x6x6xf32>, %arg1: tensor<8x3x3x3x3xf32>) -> tensor<1x8x4x6x6xf32> {
    %x1 = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4], [5]] output_shape [1, 1, 3, 4, 6, 6] : tensor<1x3x4x6x6xf32> into tensor<1x1x3x4x6x6xf32>
    %x2 = tensor.expand_shape %arg1 [[0, 1], [2], [3], [4], [5]] output_shape [1, 8, 3, 3, 3, 3] : tensor<8x3x3x3x3xf32> into tensor<1x8x3x3x3x3xf32>
    %c3 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4], [5]] : tensor<1x1x3x4x6x6xf32> into tensor<1x3x4x6x6xf32>
    %c4 = tensor.collapse_shape %x2 [[0, 1], [2], [3], [4], [5]] : tensor<1x8x3x3x3x3xf32> into tensor<8x3x3x3x3xf32>
    %e5 = tensor.empty() : tensor<1x4x6x6x3xf32>
    %t6 = linalg.transpose ins(%c3 : tensor<1x3x4x6x6xf32>) outs(%e5 : tensor<1x4x6x6x3xf32>) permutation = [0, 2, 3, 4, 1]
    %ob7 = util.optimization_barrier %t6 : tensor<1x4x6x6x3xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %p8 = tensor.pad %ob7 low[0, 1, 1, 1, 0] high[0, 1, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index, %pi4: index):
      tensor.yield %zero_f32 : f32
    } : tensor<1x4x6x6x3xf32> to tensor<1x6x8x8x3xf32>
    %s9 = tensor.extract_slice %p8[0, 0, 0, 0, 0] [1, 4, 8, 8, 3] [1, 1, 1, 1, 1] : tensor<1x6x8x8x3xf32> to tensor<1x4x8x8x3xf32>
    %ob10 = util.optimization_barrier %s9 : tensor<1x4x8x8x3xf32>
    %c11 = tensor.collapse_shape %ob10 [[0, 1], [2], [3], [4]] : tensor<1x4x8x8x3xf32> into tensor<4x8x8x3xf32>
    %s12 = tensor.extract_slice %c4[0, 0, 0, 0, 0] [8, 3, 1, 3, 3] [1, 1, 1, 1, 1] : tensor<8x3x3x3x3xf32> to tensor<8x3x1x3x3xf32>
    %c13 = tensor.collapse_shape %s12 [[0], [1], [2, 3], [4]] : tensor<8x3x1x3x3xf32> into tensor<8x3x3x3xf32>
    %x14 = tensor.expand_shape %c11 [[0], [1], [2], [3, 4]] output_shape [4, 8, 8, 1, 3] : tensor<4x8x8x3xf32> into tensor<4x8x8x1x3xf32>
    %x15 = tensor.expand_shape %c13 [[0, 1], [2], [3], [4]] output_shape [1, 8, 3, 3, 3] : tensor<8x3x3x3xf32> into tensor<1x8x3x3x3xf32>
    %c16 = tensor.collapse_shape %x14 [[0], [1], [2], [3, 4]] : tensor<4x8x8x1x3xf32> into tensor<4x8x8x3xf32>
    %c17 = tensor.collapse_shape %x15 [[0, 1], [2], [3], [4]] : tensor<1x8x3x3x3xf32> into tensor<8x3x3x3xf32>
    %e18 = tensor.empty() : tensor<3x3x3x8xf32>
    %t19 = linalg.transpose ins(%c17 : tensor<8x3x3x3xf32>) outs(%e18 : tensor<3x3x3x8xf32>) permutation = [1, 2, 3, 0]
    %ob20 = util.optimization_barrier %t19 : tensor<3x3x3x8xf32>
    %e21 = tensor.empty() : tensor<4x6x6x3x3x3xf32>
    %col22 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 1 + d4 * 1, d2 * 1 + d5 * 1, d3)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c16 : tensor<4x8x8x3xf32>) outs(%e21 : tensor<4x6x6x3x3x3xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<4x6x6x3x3x3xf32>
    %ob23 = util.optimization_barrier %col22 : tensor<4x6x6x3x3x3xf32>
    %c24 = tensor.collapse_shape %ob23 [[0], [1], [2], [3, 4, 5]] : tensor<4x6x6x3x3x3xf32> into tensor<4x6x6x27xf32>
    %c25 = tensor.collapse_shape %c24 [[0, 1, 2], [3]] : tensor<4x6x6x27xf32> into tensor<144x27xf32>
    %c26 = tensor.collapse_shape %ob20 [[0, 1, 2], [3]] : tensor<3x3x3x8xf32> into tensor<27x8xf32>
    %p27 = tensor.pad %c26 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<27x8xf32> to tensor<27x16xf32>
    %ob28 = util.optimization_barrier %p27 : tensor<27x16xf32>
    %e29 = tensor.empty() : tensor<144x16xf32>
    %z30 = linalg.fill ins(%zero_f32 : f32) outs(%e29 : tensor<144x16xf32>) -> tensor<144x16xf32>
    %mm31 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [48, 16, 0], vector_common_parallel = [8, 16, 0], vector_reduction = [0, 0, 27]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c25, %ob28 : tensor<144x27xf32>, tensor<27x16xf32>) outs(%z30 : tensor<144x16xf32>) -> tensor<144x16xf32>
    %s32 = tensor.extract_slice %mm31[0, 0] [144, 8] [1, 1] : tensor<144x16xf32> to tensor<144x8xf32>
    %x33 = tensor.expand_shape %s32 [[0, 1, 2], [3]] output_shape [4, 6, 6, 8] : tensor<144x8xf32> into tensor<4x6x6x8xf32>
    %x34 = tensor.expand_shape %x33 [[0], [1], [2], [3, 4]] output_shape [4, 6, 6, 1, 8] : tensor<4x6x6x8xf32> into tensor<4x6x6x1x8xf32>
    %s35 = tensor.extract_slice %p8[0, 1, 0, 0, 0] [1, 4, 8, 8, 3] [1, 1, 1, 1, 1] : tensor<1x6x8x8x3xf32> to tensor<1x4x8x8x3xf32>
    %ob36 = util.optimization_barrier %s35 : tensor<1x4x8x8x3xf32>
    %c37 = tensor.collapse_shape %ob36 [[0, 1], [2], [3], [4]] : tensor<1x4x8x8x3xf32> into tensor<4x8x8x3xf32>
    %s38 = tensor.extract_slice %c4[0, 0, 1, 0, 0] [8, 3, 1, 3, 3] [1, 1, 1, 1, 1] : tensor<8x3x3x3x3xf32> to tensor<8x3x1x3x3xf32>
    %c39 = tensor.collapse_shape %s38 [[0], [1], [2, 3], [4]] : tensor<8x3x1x3x3xf32> into tensor<8x3x3x3xf32>
    %x40 = tensor.expand_shape %c37 [[0], [1], [2], [3, 4]] output_shape [4, 8, 8, 1, 3] : tensor<4x8x8x3xf32> into tensor<4x8x8x1x3xf32>
    %x41 = tensor.expand_shape %c39 [[0, 1], [2], [3], [4]] output_shape [1, 8, 3, 3, 3] : tensor<8x3x3x3xf32> into tensor<1x8x3x3x3xf32>
    %c42 = tensor.collapse_shape %x40 [[0], [1], [2], [3, 4]] : tensor<4x8x8x1x3xf32> into tensor<4x8x8x3xf32>
    %c43 = tensor.collapse_shape %x41 [[0, 1], [2], [3], [4]] : tensor<1x8x3x3x3xf32> into tensor<8x3x3x3xf32>
    %e44 = tensor.empty() : tensor<3x3x3x8xf32>
    %t45 = linalg.transpose ins(%c43 : tensor<8x3x3x3xf32>) outs(%e44 : tensor<3x3x3x8xf32>) permutation = [1, 2, 3, 0]
    %ob46 = util.optimization_barrier %t45 : tensor<3x3x3x8xf32>
    %e47 = tensor.empty() : tensor<4x6x6x3x3x3xf32>
    %col48 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 1 + d4 * 1, d2 * 1 + d5 * 1, d3)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c42 : tensor<4x8x8x3xf32>) outs(%e47 : tensor<4x6x6x3x3x3xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<4x6x6x3x3x3xf32>
    %ob49 = util.optimization_barrier %col48 : tensor<4x6x6x3x3x3xf32>
    %c50 = tensor.collapse_shape %ob49 [[0], [1], [2], [3, 4, 5]] : tensor<4x6x6x3x3x3xf32> into tensor<4x6x6x27xf32>
    %c51 = tensor.collapse_shape %c50 [[0, 1, 2], [3]] : tensor<4x6x6x27xf32> into tensor<144x27xf32>
    %c52 = tensor.collapse_shape %ob46 [[0, 1, 2], [3]] : tensor<3x3x3x8xf32> into tensor<27x8xf32>
    %p53 = tensor.pad %c52 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<27x8xf32> to tensor<27x16xf32>
    %ob54 = util.optimization_barrier %p53 : tensor<27x16xf32>
    %e55 = tensor.empty() : tensor<144x16xf32>
    %z56 = linalg.fill ins(%zero_f32 : f32) outs(%e55 : tensor<144x16xf32>) -> tensor<144x16xf32>
    %mm57 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [48, 16, 0], vector_common_parallel = [8, 16, 0], vector_reduction = [0, 0, 27]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c51, %ob54 : tensor<144x27xf32>, tensor<27x16xf32>) outs(%z56 : tensor<144x16xf32>) -> tensor<144x16xf32>
    %s58 = tensor.extract_slice %mm57[0, 0] [144, 8] [1, 1] : tensor<144x16xf32> to tensor<144x8xf32>
    %x59 = tensor.expand_shape %s58 [[0, 1, 2], [3]] output_shape [4, 6, 6, 8] : tensor<144x8xf32> into tensor<4x6x6x8xf32>
    %x60 = tensor.expand_shape %x59 [[0], [1], [2], [3, 4]] output_shape [4, 6, 6, 1, 8] : tensor<4x6x6x8xf32> into tensor<4x6x6x1x8xf32>
    %e61 = tensor.empty() : tensor<4x6x6x1x8xf32>
    %add62 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%x34, %x60 : tensor<4x6x6x1x8xf32>, tensor<4x6x6x1x8xf32>) outs(%e61 : tensor<4x6x6x1x8xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %s = arith.addf %a, %c : f32
      linalg.yield %s : f32
    } -> tensor<4x6x6x1x8xf32>
    %s63 = tensor.extract_slice %p8[0, 2, 0, 0, 0] [1, 4, 8, 8, 3] [1, 1, 1, 1, 1] : tensor<1x6x8x8x3xf32> to tensor<1x4x8x8x3xf32>
    %ob64 = util.optimization_barrier %s63 : tensor<1x4x8x8x3xf32>
    %c65 = tensor.collapse_shape %ob64 [[0, 1], [2], [3], [4]] : tensor<1x4x8x8x3xf32> into tensor<4x8x8x3xf32>
    %s66 = tensor.extract_slice %c4[0, 0, 2, 0, 0] [8, 3, 1, 3, 3] [1, 1, 1, 1, 1] : tensor<8x3x3x3x3xf32> to tensor<8x3x1x3x3xf32>
    %c67 = tensor.collapse_shape %s66 [[0], [1], [2, 3], [4]] : tensor<8x3x1x3x3xf32> into tensor<8x3x3x3xf32>
    %x68 = tensor.expand_shape %c65 [[0], [1], [2], [3, 4]] output_shape [4, 8, 8, 1, 3] : tensor<4x8x8x3xf32> into tensor<4x8x8x1x3xf32>
    %x69 = tensor.expand_shape %c67 [[0, 1], [2], [3], [4]] output_shape [1, 8, 3, 3, 3] : tensor<8x3x3x3xf32> into tensor<1x8x3x3x3xf32>
    %c70 = tensor.collapse_shape %x68 [[0], [1], [2], [3, 4]] : tensor<4x8x8x1x3xf32> into tensor<4x8x8x3xf32>
    %c71 = tensor.collapse_shape %x69 [[0, 1], [2], [3], [4]] : tensor<1x8x3x3x3xf32> into tensor<8x3x3x3xf32>
    %e72 = tensor.empty() : tensor<3x3x3x8xf32>
    %t73 = linalg.transpose ins(%c71 : tensor<8x3x3x3xf32>) outs(%e72 : tensor<3x3x3x8xf32>) permutation = [1, 2, 3, 0]
    %ob74 = util.optimization_barrier %t73 : tensor<3x3x3x8xf32>
    %e75 = tensor.empty() : tensor<4x6x6x3x3x3xf32>
    %col76 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 1 + d4 * 1, d2 * 1 + d5 * 1, d3)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c70 : tensor<4x8x8x3xf32>) outs(%e75 : tensor<4x6x6x3x3x3xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<4x6x6x3x3x3xf32>
    %ob77 = util.optimization_barrier %col76 : tensor<4x6x6x3x3x3xf32>
    %c78 = tensor.collapse_shape %ob77 [[0], [1], [2], [3, 4, 5]] : tensor<4x6x6x3x3x3xf32> into tensor<4x6x6x27xf32>
    %c79 = tensor.collapse_shape %c78 [[0, 1, 2], [3]] : tensor<4x6x6x27xf32> into tensor<144x27xf32>
    %c80 = tensor.collapse_shape %ob74 [[0, 1, 2], [3]] : tensor<3x3x3x8xf32> into tensor<27x8xf32>
    %p81 = tensor.pad %c80 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<27x8xf32> to tensor<27x16xf32>
    %ob82 = util.optimization_barrier %p81 : tensor<27x16xf32>
    %e83 = tensor.empty() : tensor<144x16xf32>
    %z84 = linalg.fill ins(%zero_f32 : f32) outs(%e83 : tensor<144x16xf32>) -> tensor<144x16xf32>
    %mm85 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [48, 16, 0], vector_common_parallel = [8, 16, 0], vector_reduction = [0, 0, 27]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c79, %ob82 : tensor<144x27xf32>, tensor<27x16xf32>) outs(%z84 : tensor<144x16xf32>) -> tensor<144x16xf32>
    %s86 = tensor.extract_slice %mm85[0, 0] [144, 8] [1, 1] : tensor<144x16xf32> to tensor<144x8xf32>
    %x87 = tensor.expand_shape %s86 [[0, 1, 2], [3]] output_shape [4, 6, 6, 8] : tensor<144x8xf32> into tensor<4x6x6x8xf32>
    %x88 = tensor.expand_shape %x87 [[0], [1], [2], [3, 4]] output_shape [4, 6, 6, 1, 8] : tensor<4x6x6x8xf32> into tensor<4x6x6x1x8xf32>
    %e89 = tensor.empty() : tensor<4x6x6x1x8xf32>
    %add90 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%add62, %x88 : tensor<4x6x6x1x8xf32>, tensor<4x6x6x1x8xf32>) outs(%e89 : tensor<4x6x6x1x8xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %s = arith.addf %a, %c : f32
      linalg.yield %s : f32
    } -> tensor<4x6x6x1x8xf32>
    %x91 = tensor.expand_shape %add90 [[0, 1], [2], [3], [4], [5]] output_shape [1, 4, 6, 6, 1, 8] : tensor<4x6x6x1x8xf32> into tensor<1x4x6x6x1x8xf32>
    %ob92 = util.optimization_barrier %x91 : tensor<1x4x6x6x1x8xf32>
    %e93 = tensor.empty() : tensor<1x1x8x4x6x6xf32>
    %t94 = linalg.transpose ins(%ob92 : tensor<1x4x6x6x1x8xf32>) outs(%e93 : tensor<1x1x8x4x6x6xf32>) permutation = [0, 4, 5, 1, 2, 3]
    %c95 = tensor.collapse_shape %t94 [[0], [1, 2], [3], [4], [5]] : tensor<1x1x8x4x6x6xf32> into tensor<1x8x4x6x6xf32>
    return %c95 : tensor<1x8x4x6x6xf32>
  }
  func.func @conv_3d_f32_fwd_1x3x4x6x6_ncdhw_8x3x3x3x3_fcdhw_nfdhw_1x1x1s_1x1x1p_1x1x1d_1g_into(%arg0: tensor<1x3x4x6x6xf32>, %arg1: tensor<8x3x3x3x3xf32>, %storage: tensor<1x8x4x6x6xf32> {iree.abi.output = 0 : index}) -> tensor<1x8x4x6x6xf32> {
    %result = call @conv_3d_f32_fwd_1x3x4x6x6_ncdhw_8x3x3x3x3_fcdhw_nfdhw_1x1x1s_1x1x1p_1x1x1d_1g(%arg0, %arg1) : (tensor<1x3x4x6x6xf32>, tensor<8x3x3x3x3xf32>) -> tensor<1x8x4x6x6xf32>
    return %result : tensor<1x8x4x6x6xf32>
  }
}
