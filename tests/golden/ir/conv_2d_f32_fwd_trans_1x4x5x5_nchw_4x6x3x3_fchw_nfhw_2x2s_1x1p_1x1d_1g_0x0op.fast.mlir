module {
  func.func @conv_2d_f32_fwd_trans_1x4x5x5_nchw_4x6x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g_0x0op(%arg0: tensor<1x4x5x5xf32>, %arg1: tensor<4x6x3x3xf32>) -> tensor<1x6x9x9xf32> {
    %x1 = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [1, 1, 4, 5, 5] : tensor<1x4x5x5xf32> into tensor<1x1x4x5x5xf32>
    %e2 = tensor.empty() : tensor<1x1x1x4x6xf32>
    %g3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e2 : tensor<1x1x1x4x6xf32>) {
    ^bb0(%b: f32):
      %ix0 = linalg.index 0 : index
      %ix1 = linalg.index 1 : index
      %ix2 = linalg.index 2 : index
      %ix3 = linalg.index 3 : index
      %ix4 = linalg.index 4 : index
      %jx0 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d3)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx1 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d4)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx2 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (1)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx3 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (1)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<4x6x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x1x1x4x6xf32>
    %ob4 = util.optimization_barrier %g3 : tensor<1x1x1x4x6xf32>
    %c5 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<1x1x4x5x5xf32> into tensor<1x4x5x5xf32>
    %c6 = tensor.collapse_shape %ob4 [[0, 1], [2], [3], [4]] : tensor<1x1x1x4x6xf32> into tensor<1x1x4x6xf32>
    %e7 = tensor.empty() : tensor<1x5x5x4xf32>
    %t8 = linalg.transpose ins(%c5 : tensor<1x4x5x5xf32>) outs(%e7 : tensor<1x5x5x4xf32>) permutation = [0, 2, 3, 1]
    %ob9 = util.optimization_barrier %t8 : tensor<1x5x5x4xf32>
    %c10 = tensor.collapse_shape %ob9 [[0, 1, 2], [3]] : tensor<1x5x5x4xf32> into tensor<25x4xf32>
    %c11 = tensor.collapse_shape %c6 [[0, 1, 2], [3]] : tensor<1x1x4x6xf32> into tensor<4x6xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %p12 = tensor.pad %c11 low[0, 0] high[0, 10] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<4x6xf32> to tensor<4x16xf32>
    %ob13 = util.optimization_barrier %p12 : tensor<4x16xf32>
    %e14 = tensor.empty() : tensor<25x16xf32>
    %z15 = linalg.fill ins(%zero_f32 : f32) outs(%e14 : tensor<25x16xf32>) -> tensor<25x16xf32>
    %mm16 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [25, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 4]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c10, %ob13 : tensor<25x4xf32>, tensor<4x16xf32>) outs(%z15 : tensor<25x16xf32>) -> tensor<25x16xf32>
    %s17 = tensor.extract_slice %mm16[0, 0] [25, 6] [1, 1] : tensor<25x16xf32> to tensor<25x6xf32>
    %x18 = tensor.expand_shape %s17 [[0, 1, 2], [3]] output_shape [1, 5, 5, 6] : tensor<25x6xf32> into tensor<1x5x5x6xf32>
    %x19 = tensor.expand_shape %x18 [[0], [1], [2], [3, 4]] output_shape [1, 5, 5, 1, 6] : tensor<1x5x5x6xf32> into tensor<1x5x5x1x6xf32>
    %e20 = tensor.empty() : tensor<1x1x2x4x6xf32>
    %g21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e20 : tensor<1x1x2x4x6xf32>) {
    ^bb0(%b: f32):
      %ix0 = linalg.index 0 : index
      %ix1 = linalg.index 1 : index
      %ix2 = linalg.index 2 : index
      %ix3 = linalg.index 3 : index
      %ix4 = linalg.index 4 : index
      %jx0 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d3)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx1 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d4)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx2 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (1)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx3 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (2 - d2 * 2)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<4x6x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x1x2x4x6xf32>
    %ob22 = util.optimization_barrier %g21 : tensor<1x1x2x4x6xf32>
    %c23 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<1x1x4x5x5xf32> into tensor<1x4x5x5xf32>
    %c24 = tensor.collapse_shape %ob22 [[0, 1], [2], [3], [4]] : tensor<1x1x2x4x6xf32> into tensor<1x2x4x6xf32>
    %e25 = tensor.empty() : tensor<1x5x4x1x2x4xf32>
    %col26 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 1 + d3 * 1, d2 * 1 + d4 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c23 : tensor<1x4x5x5xf32>) outs(%e25 : tensor<1x5x4x1x2x4xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<1x5x4x1x2x4xf32>
    %ob27 = util.optimization_barrier %col26 : tensor<1x5x4x1x2x4xf32>
    %c28 = tensor.collapse_shape %ob27 [[0], [1], [2], [3, 4, 5]] : tensor<1x5x4x1x2x4xf32> into tensor<1x5x4x8xf32>
    %c29 = tensor.collapse_shape %c28 [[0, 1, 2], [3]] : tensor<1x5x4x8xf32> into tensor<20x8xf32>
    %c30 = tensor.collapse_shape %c24 [[0, 1, 2], [3]] : tensor<1x2x4x6xf32> into tensor<8x6xf32>
    %p31 = tensor.pad %c30 low[0, 0] high[0, 10] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<8x6xf32> to tensor<8x16xf32>
    %ob32 = util.optimization_barrier %p31 : tensor<8x16xf32>
    %e33 = tensor.empty() : tensor<20x16xf32>
    %z34 = linalg.fill ins(%zero_f32 : f32) outs(%e33 : tensor<20x16xf32>) -> tensor<20x16xf32>
    %mm35 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [20, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 8]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c29, %ob32 : tensor<20x8xf32>, tensor<8x16xf32>) outs(%z34 : tensor<20x16xf32>) -> tensor<20x16xf32>
    %s36 = tensor.extract_slice %mm35[0, 0] [20, 6] [1, 1] : tensor<20x16xf32> to tensor<20x6xf32>
    %x37 = tensor.expand_shape %s36 [[0, 1, 2], [3]] output_shape [1, 5, 4, 6] : tensor<20x6xf32> into tensor<1x5x4x6xf32>
    %x38 = tensor.expand_shape %x37 [[0], [1], [2], [3, 4]] output_shape [1, 5, 4, 1, 6] : tensor<1x5x4x6xf32> into tensor<1x5x4x1x6xf32>
    %e39 = tensor.empty() : tensor<1x2x1x4x6xf32>
    %g40 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e39 : tensor<1x2x1x4x6xf32>) {
    ^bb0(%b: f32):
      %ix0 = linalg.index 0 : index
      %ix1 = linalg.index 1 : index
      %ix2 = linalg.index 2 : index
      %ix3 = linalg.index 3 : index
      %ix4 = linalg.index 4 : index
      %jx0 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d3)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx1 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d4)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx2 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (2 - d1 * 2)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx3 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (1)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<4x6x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x2x1x4x6xf32>
    %ob41 = util.optimization_barrier %g40 : tensor<1x2x1x4x6xf32>
    %c42 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<1x1x4x5x5xf32> into tensor<1x4x5x5xf32>
    %c43 = tensor.collapse_shape %ob41 [[0, 1], [2], [3], [4]] : tensor<1x2x1x4x6xf32> into tensor<2x1x4x6xf32>
    %e44 = tensor.empty() : tensor<1x4x5x2x1x4xf32>
    %col45 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 1 + d3 * 1, d2 * 1 + d4 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c42 : tensor<1x4x5x5xf32>) outs(%e44 : tensor<1x4x5x2x1x4xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<1x4x5x2x1x4xf32>
    %ob46 = util.optimization_barrier %col45 : tensor<1x4x5x2x1x4xf32>
    %c47 = tensor.collapse_shape %ob46 [[0], [1], [2], [3, 4, 5]] : tensor<1x4x5x2x1x4xf32> into tensor<1x4x5x8xf32>
    %c48 = tensor.collapse_shape %c47 [[0, 1, 2], [3]] : tensor<1x4x5x8xf32> into tensor<20x8xf32>
    %c49 = tensor.collapse_shape %c43 [[0, 1, 2], [3]] : tensor<2x1x4x6xf32> into tensor<8x6xf32>
    %p50 = tensor.pad %c49 low[0, 0] high[0, 10] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<8x6xf32> to tensor<8x16xf32>
    %ob51 = util.optimization_barrier %p50 : tensor<8x16xf32>
    %e52 = tensor.empty() : tensor<20x16xf32>
    %z53 = linalg.fill ins(%zero_f32 : f32) outs(%e52 : tensor<20x16xf32>) -> tensor<20x16xf32>
    %mm54 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [20, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 8]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c48, %ob51 : tensor<20x8xf32>, tensor<8x16xf32>) outs(%z53 : tensor<20x16xf32>) -> tensor<20x16xf32>
    %s55 = tensor.extract_slice %mm54[0, 0] [20, 6] [1, 1] : tensor<20x16xf32> to tensor<20x6xf32>
    %x56 = tensor.expand_shape %s55 [[0, 1, 2], [3]] output_shape [1, 4, 5, 6] : tensor<20x6xf32> into tensor<1x4x5x6xf32>
    %x57 = tensor.expand_shape %x56 [[0], [1], [2], [3, 4]] output_shape [1, 4, 5, 1, 6] : tensor<1x4x5x6xf32> into tensor<1x4x5x1x6xf32>
    %e58 = tensor.empty() : tensor<1x2x2x4x6xf32>
    %g59 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e58 : tensor<1x2x2x4x6xf32>) {
    ^bb0(%b: f32):
      %ix0 = linalg.index 0 : index
      %ix1 = linalg.index 1 : index
      %ix2 = linalg.index 2 : index
      %ix3 = linalg.index 3 : index
      %ix4 = linalg.index 4 : index
      %jx0 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d3)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx1 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (d4)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx2 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (2 - d1 * 2)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %jx3 = affine.apply affine_map<(d0, d1, d2, d3, d4) -> (2 - d2 * 2)>(%ix0, %ix1, %ix2, %ix3, %ix4)
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<4x6x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x2x2x4x6xf32>
    %ob60 = util.optimization_barrier %g59 : tensor<1x2x2x4x6xf32>
    %c61 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<1x1x4x5x5xf32> into tensor<1x4x5x5xf32>
    %c62 = tensor.collapse_shape %ob60 [[0, 1], [2], [3], [4]] : tensor<1x2x2x4x6xf32> into tensor<2x2x4x6xf32>
    %e63 = tensor.empty() : tensor<1x4x4x2x2x4xf32>
    %col64 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 1 + d3 * 1, d2 * 1 + d4 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c61 : tensor<1x4x5x5xf32>) outs(%e63 : tensor<1x4x4x2x2x4xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<1x4x4x2x2x4xf32>
    %ob65 = util.optimization_barrier %col64 : tensor<1x4x4x2x2x4xf32>
    %c66 = tensor.collapse_shape %ob65 [[0], [1], [2], [3, 4, 5]] : tensor<1x4x4x2x2x4xf32> into tensor<1x4x4x16xf32>
    %c67 = tensor.collapse_shape %c66 [[0, 1, 2], [3]] : tensor<1x4x4x16xf32> into tensor<16x16xf32>
    %c68 = tensor.collapse_shape %c62 [[0, 1, 2], [3]] : tensor<2x2x4x6xf32> into tensor<16x6xf32>
    %p69 = tensor.pad %c68 low[0, 0] high[0, 10] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<16x6xf32> to tensor<16x16xf32>
    %ob70 = util.optimization_barrier %p69 : tensor<16x16xf32>
    %e71 = tensor.empty() : tensor<16x16xf32>
    %z72 = linalg.fill ins(%zero_f32 : f32) outs(%e71 : tensor<16x16xf32>) -> tensor<16x16xf32>
    %mm73 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [16, 16, 0], vector_common_parallel = [8, 16, 0], vector_reduction = [0, 0, 16]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c67, %ob70 : tensor<16x16xf32>, tensor<16x16xf32>) outs(%z72 : tensor<16x16xf32>) -> tensor<16x16xf32>
    %s74 = tensor.extract_slice %mm73[0, 0] [16, 6] [1, 1] : tensor<16x16xf32> to tensor<16x6xf32>
    %x75 = tensor.expand_shape %s74 [[0, 1, 2], [3]] output_shape [1, 4, 4, 6] : tensor<16x6xf32> into tensor<1x4x4x6xf32>
    %x76 = tensor.expand_shape %x75 [[0], [1], [2], [3, 4]] output_shape [1, 4, 4, 1, 6] : tensor<1x4x4x6xf32> into tensor<1x4x4x1x6xf32>
    %e77 = tensor.empty() : tensor<1x9x9x1x6xf32>
    %i78 = tensor.insert_slice %x19 into %e77[0, 0, 0, 0, 0] [1, 5, 5, 1, 6] [1, 2, 2, 1, 1] : tensor<1x5x5x1x6xf32> into tensor<1x9x9x1x6xf32>
    %i79 = tensor.insert_slice %x38 into %i78[0, 0, 1, 0, 0] [1, 5, 4, 1, 6] [1, 2, 2, 1, 1] : tensor<1x5x4x1x6xf32> into tensor<1x9x9x1x6xf32>
    %i80 = tensor.insert_slice %x57 into %i79[0, 1, 0, 0, 0] [1, 4, 5, 1, 6] [1, 2, 2, 1, 1] : tensor<1x4x5x1x6xf32> into tensor<1x9x9x1x6xf32>
    %i81 = tensor.insert_slice %x76 into %i80[0, 1, 1, 0, 0] [1, 4, 4, 1, 6] [1, 2, 2, 1, 1] : tensor<1x4x4x1x6xf32> into tensor<1x9x9x1x6xf32>
    %ob82 = util.optimization_barrier %i81 : tensor<1x9x9x1x6xf32>
    %e83 = tensor.empty() : tensor<1x1x6x9x9xf32>
    %t84 = linalg.transpose ins(%ob82 : tensor<1x9x9x1x6xf32>) outs(%e83 : tensor<1x1x6x9x9xf32>) permutation = [0, 3, 4, 1, 2]
    %c85 = tensor.collapse_shape %t84 [[0], [1, 2], [3], [4]] : tensor<1x1x6x9x9xf32> into tensor<1x6x9x9xf32>
    return %c85 : tensor<1x6x9x9xf32>
  }
  func.func @conv_2d_f32_fwd_trans_1x4x5x5_nchw_4x6x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g_0x0op_into(%arg0: tensor<1x4x5x5xf32>, %arg1: tensor<4x6x3x3xf32>, %storage: tensor<1x6x9x9xf32> {iree.abi.output = 0 : index}) -> tensor<1x6x9x9xf32> {
    %result = call @conv_2d_f32_fwd_trans_1x4x5x5_nchw_4x6x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g_0x0op(%arg0, %arg1) : (tensor<1x4x5x5xf32>, tensor<4x6x3x3xf32>) -> tensor<1x6x9x9xf32>
    return %result : tensor<1x6x9x9xf32>
  }
}
