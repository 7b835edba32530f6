module {
  func.func @conv_2d_f32_bwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g(%arg0: tensor<2x16x5x5xf32>, %arg1: tensor<16x8x3x3xf32>) -> tensor<2x8x10x10xf32> {
    %x1 = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [2, 1, 16, 5, 5] : tensor<2x16x5x5xf32> into tensor<2x1x16x5x5xf32>
    %e2 = tensor.empty() : tensor<1x1x1x16x8xf32>
    %g3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e2 : tensor<1x1x1x16x8xf32>) {
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
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<16x8x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x1x1x16x8xf32>
    %ob4 = util.optimization_barrier %g3 : tensor<1x1x1x16x8xf32>
    %c5 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<2x1x16x5x5xf32> into tensor<2x16x5x5xf32>
    %c6 = tensor.collapse_shape %ob4 [[0, 1], [2], [3], [4]] : tensor<1x1x1x16x8xf32> into tensor<1x1x16x8xf32>
    %e7 = tensor.empty() : tensor<2x5x5x16xf32>
    %t8 = linalg.transpose ins(%c5 : tensor<2x16x5x5xf32>) outs(%e7 : tensor<2x5x5x16xf32>) permutation = [0, 2, 3, 1]
    %ob9 = util.optimization_barrier %t8 : tensor<2x5x5x16xf32>
    %c10 = tensor.collapse_shape %ob9 [[0, 1, 2], [3]] : tensor<2x5x5x16xf32> into tensor<50x16xf32>
    %c11 = tensor.collapse_shape %c6 [[0, 1, 2], [3]] : tensor<1x1x16x8xf32> into tensor<16x8xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %p12 = tensor.pad %c11 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<16x8xf32> to tensor<16x16xf32>
    %ob13 = util.optimization_barrier %p12 : tensor<16x16xf32>
    %e14 = tensor.empty() : tensor<50x16xf32>
    %z15 = linalg.fill ins(%zero_f32 : f32) outs(%e14 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %mm16 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [50, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 16]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c10, %ob13 : tensor<50x16xf32>, tensor<16x16xf32>) outs(%z15 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %s17 = tensor.extract_slice %mm16[0, 0] [50, 8] [1, 1] : tensor<50x16xf32> to tensor<50x8xf32>
    %x18 = tensor.expand_shape %s17 [[0, 1, 2], [3]] output_shape [2, 5, 5, 8] : tensor<50x8xf32> into tensor<2x5x5x8xf32>
    %x19 = tensor.expand_shape %x18 [[0], [1], [2], [3, 4]] output_shape [2, 5, 5, 1, 8] : tensor<2x5x5x8xf32> into tensor<2x5x5x1x8xf32>
    %e20 = tensor.empty() : tensor<1x1x2x16x8xf32>
    %g21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e20 : tensor<1x1x2x16x8xf32>) {
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
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<16x8x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x1x2x16x8xf32>
    %ob22 = util.optimization_barrier %g21 : tensor<1x1x2x16x8xf32>
    %c23 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<2x1x16x5x5xf32> into tensor<2x16x5x5xf32>
    %c24 = tensor.collapse_shape %ob22 [[0, 1], [2], [3], [4]] : tensor<1x1x2x16x8xf32> into tensor<1x2x16x8xf32>
    %p25 = tensor.pad %c23 low[0, 0, 0, 0] high[0, 0, 0, 1] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_f32 : f32
    } : tensor<2x16x5x5xf32> to tensor<2x16x5x6xf32>
    %e26 = tensor.empty() : tensor<2x5x5x1x2x16xf32>
    %col27 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 1 + d3 * 1, d2 * 1 + d4 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p25 : tensor<2x16x5x6xf32>) outs(%e26 : tensor<2x5x5x1x2x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<2x5x5x1x2x16xf32>
    %ob28 = util.optimization_barrier %col27 : tensor<2x5x5x1x2x16xf32>
    %c29 = tensor.collapse_shape %ob28 [[0], [1], [2], [3, 4, 5]] : tensor<2x5x5x1x2x16xf32> into tensor<2x5x5x32xf32>
    %c30 = tensor.collapse_shape %c29 [[0, 1, 2], [3]] : tensor<2x5x5x32xf32> into tensor<50x32xf32>
    %c31 = tensor.collapse_shape %c24 [[0, 1, 2], [3]] : tensor<1x2x16x8xf32> into tensor<32x8xf32>
    %p32 = tensor.pad %c31 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<32x8xf32> to tensor<32x16xf32>
    %ob33 = util.optimization_barrier %p32 : tensor<32x16xf32>
    %e34 = tensor.empty() : tensor<50x16xf32>
    %z35 = linalg.fill ins(%zero_f32 : f32) outs(%e34 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %mm36 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [50, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 32]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c30, %ob33 : tensor<50x32xf32>, tensor<32x16xf32>) outs(%z35 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %s37 = tensor.extract_slice %mm36[0, 0] [50, 8] [1, 1] : tensor<50x16xf32> to tensor<50x8xf32>
    %x38 = tensor.expand_shape %s37 [[0, 1, 2], [3]] output_shape [2, 5, 5, 8] : tensor<50x8xf32> into tensor<2x5x5x8xf32>
    %x39 = tensor.expand_shape %x38 [[0], [1], [2], [3, 4]] output_shape [2, 5, 5, 1, 8] : tensor<2x5x5x8xf32> into tensor<2x5x5x1x8xf32>
    %e40 = tensor.empty() : tensor<1x2x1x16x8xf32>
    %g41 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e40 : tensor<1x2x1x16x8xf32>) {
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
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<16x8x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x2x1x16x8xf32>
    %ob42 = util.optimization_barrier %g41 : tensor<1x2x1x16x8xf32>
    %c43 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<2x1x16x5x5xf32> into tensor<2x16x5x5xf32>
    %c44 = tensor.collapse_shape %ob42 [[0, 1], [2], [3], [4]] : tensor<1x2x1x16x8xf32> into tensor<2x1x16x8xf32>
    %p45 = tensor.pad %c43 low[0, 0, 0, 0] high[0, 0, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_f32 : f32
    } : tensor<2x16x5x5xf32> to tensor<2x16x6x5xf32>
    %e46 = tensor.empty() : tensor<2x5x5x2x1x16xf32>
    %col47 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 1 + d3 * 1, d2 * 1 + d4 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p45 : tensor<2x16x6x5xf32>) outs(%e46 : tensor<2x5x5x2x1x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<2x5x5x2x1x16xf32>
    %ob48 = util.optimization_barrier %col47 : tensor<2x5x5x2x1x16xf32>
    %c49 = tensor.collapse_shape %ob48 [[0], [1], [2], [3, 4, 5]] : tensor<2x5x5x2x1x16xf32> into tensor<2x5x5x32xf32>
    %c50 = tensor.collapse_shape %c49 [[0, 1, 2], [3]] : tensor<2x5x5x32xf32> into tensor<50x32xf32>
    %c51 = tensor.collapse_shape %c44 [[0, 1, 2], [3]] : tensor<2x1x16x8xf32> into tensor<32x8xf32>
    %p52 = tensor.pad %c51 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<32x8xf32> to tensor<32x16xf32>
    %ob53 = util.optimization_barrier %p52 : tensor<32x16xf32>
    %e54 = tensor.empty() : tensor<50x16xf32>
    %z55 = linalg.fill ins(%zero_f32 : f32) outs(%e54 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %mm56 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [50, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 32]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c50, %ob53 : tensor<50x32xf32>, tensor<32x16xf32>) outs(%z55 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %s57 = tensor.extract_slice %mm56[0, 0] [50, 8] [1, 1] : tensor<50x16xf32> to tensor<50x8xf32>
    %x58 = tensor.expand_shape %s57 [[0, 1, 2], [3]] output_shape [2, 5, 5, 8] : tensor<50x8xf32> into tensor<2x5x5x8xf32>
    %x59 = tensor.expand_shape %x58 [[0], [1], [2], [3, 4]] output_shape [2, 5, 5, 1, 8] : tensor<2x5x5x8xf32> into tensor<2x5x5x1x8xf32>
    %e60 = tensor.empty() : tensor<1x2x2x16x8xf32>
    %g61 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%e60 : tensor<1x2x2x16x8xf32>) {
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
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jx3] : tensor<16x8x3x3xf32>
      linalg.yield %val : f32
    } -> tensor<1x2x2x16x8xf32>
    %ob62 = util.optimization_barrier %g61 : tensor<1x2x2x16x8xf32>
    %c63 = tensor.collapse_shape %x1 [[0], [1, 2], [3], [4]] : tensor<2x1x16x5x5xf32> into tensor<2x16x5x5xf32>
    %c64 = tensor.collapse_shape %ob62 [[0, 1], [2], [3], [4]] : tensor<1x2x2x16x8xf32> into tensor<2x2x16x8xf32>
    %p65 = tensor.pad %c63 low[0, 0, 0, 0] high[0, 0, 1, 1] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_f32 : f32
    } : tensor<2x16x5x5xf32> to tensor<2x16x6x6xf32>
    %e66 = tensor.empty() : tensor<2x5x5x2x2x16xf32>
    %col67 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 1 + d3 * 1, d2 * 1 + d4 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p65 : tensor<2x16x6x6xf32>) outs(%e66 : tensor<2x5x5x2x2x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<2x5x5x2x2x16xf32>
    %ob68 = util.optimization_barrier %col67 : tensor<2x5x5x2x2x16xf32>
    %c69 = tensor.collapse_shape %ob68 [[0], [1], [2], [3, 4, 5]] : tensor<2x5x5x2x2x16xf32> into tensor<2x5x5x64xf32>
    %c70 = tensor.collapse_shape %c69 [[0, 1, 2], [3]] : tensor<2x5x5x64xf32> into tensor<50x64xf32>
    %c71 = tensor.collapse_shape %c64 [[0, 1, 2], [3]] : tensor<2x2x16x8xf32> into tensor<64x8xf32>
    %p72 = tensor.pad %c71 low[0, 0] high[0, 8] {
    ^bb0(%pi0: index, %pi1: index):
      tensor.yield %zero_f32 : f32
    } : tensor<64x8xf32> to tensor<64x16xf32>
    %ob73 = util.optimization_barrier %p72 : tensor<64x16xf32>
    %e74 = tensor.empty() : tensor<50x16xf32>
    %z75 = linalg.fill ins(%zero_f32 : f32) outs(%e74 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %mm76 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [50, 16, 0], vector_common_parallel = [5, 16, 0], vector_reduction = [0, 0, 64]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ins(%c70, %ob73 : tensor<50x64xf32>, tensor<64x16xf32>) outs(%z75 : tensor<50x16xf32>) -> tensor<50x16xf32>
    %s77 = tensor.extract_slice %mm76[0, 0] [50, 8] [1, 1] : tensor<50x16xf32> to tensor<50x8xf32>
    %x78 = tensor.expand_shape %s77 [[0, 1, 2], [3]] output_shape [2, 5, 5, 8] : tensor<50x8xf32> into tensor<2x5x5x8xf32>
    %x79 = tensor.expand_shape %x78 [[0], [1], [2], [3, 4]] output_shape [2, 5, 5, 1, 8] : tensor<2x5x5x8xf32> into tensor<2x5x5x1x8xf32>
    %e80 = tensor.empty() : tensor<2x10x10x1x8xf32>
    %i81 = tensor.insert_slice %x19 into %e80[0, 0, 0, 0, 0] [2, 5, 5, 1, 8] [1, 2, 2, 1, 1] : tensor<2x5x5x1x8xf32> into tensor<2x10x10x1x8xf32>
    %i82 = tensor.insert_slice %x39 into %i81[0, 0, 1, 0, 0] [2, 5, 5, 1, 8] [1, 2, 2, 1, 1] : tensor<2x5x5x1x8xf32> into tensor<2x10x10x1x8xf32>
    %i83 = tensor.insert_slice %x59 into %i82[0, 1, 0, 0, 0] [2, 5, 5, 1, 8] [1, 2, 2, 1, 1] : tensor<2x5x5x1x8xf32> into tensor<2x10x10x1x8xf32>
    %i84 = tensor.insert_slice %x79 into %i83[0, 1, 1, 0, 0] [2, 5, 5, 1, 8] [1, 2, 2, 1, 1] : tensor<2x5x5x1x8xf32> into tensor<2x10x10x1x8xf32>
    %ob85 = util.optimization_barrier %i84 : tensor<2x10x10x1x8xf32>
    %e86 = tensor.empty() : tensor<2x1x8x10x10xf32>
    %t87 = linalg.transpose ins(%ob85 : tensor<2x10x10x1x8xf32>) outs(%e86 : tensor<2x1x8x10x10xf32>) permutation = [0, 3, 4, 1, 2]
    %c88 = tensor.collapse_shape %t87 [[0], [1, 2], [3], [4]] : tensor<2x1x8x10x10xf32> into tensor<2x8x10x10xf32>
    return %c88 : tensor<2x8x10x10xf32>
  }
  func.func @conv_2d_f32_bwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g_into(%arg0: tensor<2x16x5x5xf32>, %arg1: tensor<16x8x3x3xf32>, %storage: tensor<2x8x10x10xf32> {iree.abi.output = 0 : index}) -> tensor<2x8x10x10xf32> {
    %result = call @conv_2d_f32_bwd_2x8x10x10_nchw_16x8x3x3_fchw_nfhw_2x2s_1x1p_1x1d_1g(%arg0, %arg1) : (tensor<2x16x5x5xf32>, tensor<16x8x3x3xf32>) -> tensor<2x8x10x10xf32>
    return %result : tensor<2x8x10x10xf32>
  }
}
