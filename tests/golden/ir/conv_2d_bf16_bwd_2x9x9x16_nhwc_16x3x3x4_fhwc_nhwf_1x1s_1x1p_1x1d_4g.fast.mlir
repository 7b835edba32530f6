module {
  func.func @conv_2d_bf16_bwd_2x9x9x16_nhwc_16x3x3x4_fhwc_nhwf_1x1s_1x1p_1x1d_4g(%arg0: tensor<2x9x9x16xbf16>, %arg1: tensor<16x3x3x4xbf16>) -> tensor<2x9x9x16xbf16> {
    %x1 = tensor.expand_shape %arg0 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 4, 4] : tensor<2x9x9x16xbf16> into tensor<2x9x9x4x4xbf16>
    %tbl2 = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]> : tensor<16xi32>
    %tbl3 = tensor.expand_shape %tbl2 [[0, 1]] output_shape [4, 4] : tensor<16xi32> into tensor<4x4xi32>
    %tbl4 = arith.constant dense<[2, 1, 0]> : tensor<3xi32>
    %tbl5 = arith.constant dense<[2, 1, 0]> : tensor<3xi32>
    %e6 = tensor.empty() : tensor<4x3x3x4x4xbf16>
    %g7 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d2)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%tbl3, %tbl4, %tbl5 : tensor<4x4xi32>, tensor<3xi32>, tensor<3xi32>) outs(%e6 : tensor<4x3x3x4x4xbf16>) {
    ^bb0(%ti0: i32, %ti1: i32, %ti2: i32, %b: bf16):
      %jx0 = arith.index_cast %ti0 : i32 to index
      %jx1 = arith.index_cast %ti1 : i32 to index
      %jx2 = arith.index_cast %ti2 : i32 to index
      %jlast = linalg.index 4 : index
      %val = tensor.extract %arg1[%jx0, %jx1, %jx2, %jlast] : tensor<16x3x3x4xbf16>
      linalg.yield %val : bf16
    } -> tensor<4x3x3x4x4xbf16>
    %ob8 = util.optimization_barrier %g7 : tensor<4x3x3x4x4xbf16>
    %e9 = tensor.empty() : tensor<2x9x9x4x4xf32>
    %s10 = tensor.extract_slice %x1[0, 0, 0, 0, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x4x4xbf16> to tensor<2x9x9x1x4xbf16>
    %s11 = tensor.extract_slice %ob8[0, 0, 0, 0, 0] [1, 3, 3, 4, 4] [1, 1, 1, 1, 1] : tensor<4x3x3x4x4xbf16> to tensor<1x3x3x4x4xbf16>
    %c12 = tensor.collapse_shape %s10 [[0], [1], [2], [3, 4]] : tensor<2x9x9x1x4xbf16> into tensor<2x9x9x4xbf16>
    %c13 = tensor.collapse_shape %s11 [[0, 1], [2], [3], [4]] : tensor<1x3x3x4x4xbf16> into tensor<3x3x4x4xbf16>
    %zero_bf16 = arith.constant 0.000000e+00 : bf16
    %p14 = tensor.pad %c12 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_bf16 : bf16
    } : tensor<2x9x9x4xbf16> to tensor<2x11x11x4xbf16>
    %e15 = tensor.empty() : tensor<3x3x4x4xf32>
    %w16 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c13 : tensor<3x3x4x4xbf16>) outs(%e15 : tensor<3x3x4x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<3x3x4x4xf32>
    %ob17 = util.optimization_barrier %w16 : tensor<3x3x4x4xf32>
    %e18 = tensor.empty() : tensor<2x11x11x4xf32>
    %w19 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%p14 : tensor<2x11x11x4xbf16>) outs(%e18 : tensor<2x11x11x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<2x11x11x4xf32>
    %ob20 = util.optimization_barrier %w19 : tensor<2x11x11x4xf32>
    %e21 = tensor.empty() : tensor<2x9x9x4xf32>
    %zero_f32 = arith.constant 0.000000e+00 : f32
    %z22 = linalg.fill ins(%zero_f32 : f32) outs(%e21 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %conv23 = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 1]> : tensor<2xi64>, strides = dense<[1, 1]> : tensor<2xi64>} ins(%ob20, %ob17 : tensor<2x11x11x4xf32>, tensor<3x3x4x4xf32>) outs(%z22 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %x24 = tensor.expand_shape %conv23 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 1, 4] : tensor<2x9x9x4xf32> into tensor<2x9x9x1x4xf32>
    %i25 = tensor.insert_slice %x24 into %e9[0, 0, 0, 0, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x1x4xf32> into tensor<2x9x9x4x4xf32>
    %s26 = tensor.extract_slice %x1[0, 0, 0, 1, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x4x4xbf16> to tensor<2x9x9x1x4xbf16>
    %s27 = tensor.extract_slice %ob8[1, 0, 0, 0, 0] [1, 3, 3, 4, 4] [1, 1, 1, 1, 1] : tensor<4x3x3x4x4xbf16> to tensor<1x3x3x4x4xbf16>
    %c28 = tensor.collapse_shape %s26 [[0], [1], [2], [3, 4]] : tensor<2x9x9x1x4xbf16> into tensor<2x9x9x4xbf16>
    %c29 = tensor.collapse_shape %s27 [[0, 1], [2], [3], [4]] : tensor<1x3x3x4x4xbf16> into tensor<3x3x4x4xbf16>
    %p30 = tensor.pad %c28 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_bf16 : bf16
    } : tensor<2x9x9x4xbf16> to tensor<2x11x11x4xbf16>
    %e31 = tensor.empty() : tensor<3x3x4x4xf32>
    %w32 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c29 : tensor<3x3x4x4xbf16>) outs(%e31 : tensor<3x3x4x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<3x3x4x4xf32>
    %ob33 = util.optimization_barrier %w32 : tensor<3x3x4x4xf32>
    %e34 = tensor.empty() : tensor<2x11x11x4xf32>
    %w35 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%p30 : tensor<2x11x11x4xbf16>) outs(%e34 : tensor<2x11x11x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<2x11x11x4xf32>
    %ob36 = util.optimization_barrier %w35 : tensor<2x11x11x4xf32>
    %e37 = tensor.empty() : tensor<2x9x9x4xf32>
    %z38 = linalg.fill ins(%zero_f32 : f32) outs(%e37 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %conv39 = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 1]> : tensor<2xi64>, strides = dense<[1, 1]> : tensor<2xi64>} ins(%ob36, %ob33 : tensor<2x11x11x4xf32>, tensor<3x3x4x4xf32>) outs(%z38 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %x40 = tensor.expand_shape %conv39 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 1, 4] : tensor<2x9x9x4xf32> into tensor<2x9x9x1x4xf32>
    %i41 = tensor.insert_slice %x40 into %i25[0, 0, 0, 1, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x1x4xf32> into tensor<2x9x9x4x4xf32>
    %s42 = tensor.extract_slice %x1[0, 0, 0, 2, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x4x4xbf16> to tensor<2x9x9x1x4xbf16>
    %s43 = tensor.extract_slice %ob8[2, 0, 0, 0, 0] [1, 3, 3, 4, 4] [1, 1, 1, 1, 1] : tensor<4x3x3x4x4xbf16> to tensor<1x3x3x4x4xbf16>
    %c44 = tensor.collapse_shape %s42 [[0], [1], [2], [3, 4]] : tensor<2x9x9x1x4xbf16> into tensor<2x9x9x4xbf16>
    %c45 = tensor.collapse_shape %s43 [[0, 1], [2], [3], [4]] : tensor<1x3x3x4x4xbf16> into tensor<3x3x4x4xbf16>
    %p46 = tensor.pad %c44 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_bf16 : bf16
    } : tensor<2x9x9x4xbf16> to tensor<2x11x11x4xbf16>
    %e47 = tensor.empty() : tensor<3x3x4x4xf32>
    %w48 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c45 : tensor<3x3x4x4xbf16>) outs(%e47 : tensor<3x3x4x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<3x3x4x4xf32>
    %ob49 = util.optimization_barrier %w48 : tensor<3x3x4x4xf32>
    %e50 = tensor.empty() : tensor<2x11x11x4xf32>
    %w51 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%p46 : tensor<2x11x11x4xbf16>) outs(%e50 : tensor<2x11x11x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<2x11x11x4xf32>
    %ob52 = util.optimization_barrier %w51 : tensor<2x11x11x4xf32>
    %e53 = tensor.empty() : tensor<2x9x9x4xf32>
    %z54 = linalg.fill ins(%zero_f32 : f32) outs(%e53 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %conv55 = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 1]> : tensor<2xi64>, strides = dense<[1, 1]> : tensor<2xi64>} ins(%ob52, %ob49 : tensor<2x11x11x4xf32>, tensor<3x3x4x4xf32>) outs(%z54 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %x56 = tensor.expand_shape %conv55 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 1, 4] : tensor<2x9x9x4xf32> into tensor<2x9x9x1x4xf32>
    %i57 = tensor.insert_slice %x56 into %i41[0, 0, 0, 2, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x1x4xf32> into tensor<2x9x9x4x4xf32>
    %s58 = tensor.extract_slice %x1[0, 0, 0, 3, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x4x4xbf16> to tensor<2x9x9x1x4xbf16>
    %s59 = tensor.extract_slice %ob8[3, 0, 0, 0, 0] [1, 3, 3, 4, 4] [1, 1, 1, 1, 1] : tensor<4x3x3x4x4xbf16> to tensor<1x3x3x4x4xbf16>
    %c60 = tensor.collapse_shape %s58 [[0], [1], [2], [3, 4]] : tensor<2x9x9x1x4xbf16> into tensor<2x9x9x4xbf16>
    %c61 = tensor.collapse_shape %s59 [[0, 1], [2], [3], [4]] : tensor<1x3x3x4x4xbf16> into tensor<3x3x4x4xbf16>
    %p62 = tensor.pad %c60 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%pi0: index, %pi1: index, %pi2: index, %pi3: index):
      tensor.yield %zero_bf16 : bf16
    } : tensor<2x9x9x4xbf16> to tensor<2x11x11x4xbf16>
    %e63 = tensor.empty() : tensor<3x3x4x4xf32>
    %w64 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c61 : tensor<3x3x4x4xbf16>) outs(%e63 : tensor<3x3x4x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<3x3x4x4xf32>
    %ob65 = util.optimization_barrier %w64 : tensor<3x3x4x4xf32>
    %e66 = tensor.empty() : tensor<2x11x11x4xf32>
    %w67 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%p62 : tensor<2x11x11x4xbf16>) outs(%e66 : tensor<2x11x11x4xf32>) {
    ^bb0(%a: bf16, %o: f32):
      %x = arith.extf %a : bf16 to f32
      linalg.yield %x : f32
    } -> tensor<2x11x11x4xf32>
    %ob68 = util.optimization_barrier %w67 : tensor<2x11x11x4xf32>
    %e69 = tensor.empty() : tensor<2x9x9x4xf32>
    %z70 = linalg.fill ins(%zero_f32 : f32) outs(%e69 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %conv71 = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 1]> : tensor<2xi64>, strides = dense<[1, 1]> : tensor<2xi64>} ins(%ob68, %ob65 : tensor<2x11x11x4xf32>, tensor<3x3x4x4xf32>) outs(%z70 : tensor<2x9x9x4xf32>) -> tensor<2x9x9x4xf32>
    %x72 = tensor.expand_shape %conv71 [[0], [1], [2], [3, 4]] output_shape [2, 9, 9, 1, 4] : tensor<2x9x9x4xf32> into tensor<2x9x9x1x4xf32>
    %i73 = tensor.insert_slice %x72 into %i57[0, 0, 0, 3, 0] [2, 9, 9, 1, 4] [1, 1, 1, 1, 1] : tensor<2x9x9x1x4xf32> into tensor<2x9x9x4x4xf32>
    %e74 = tensor.empty() : tensor<2x9x9x4x4xbf16>
    %y75 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%i73 : tensor<2x9x9x4x4xf32>) outs(%e74 : tensor<2x9x9x4x4xbf16>) {
    ^bb0(%a: f32, %o: bf16):
      %tr = arith.truncf %a : f32 to bf16
      linalg.yield %tr : bf16
    } -> tensor<2x9x9x4x4xbf16>
    %c76 = tensor.collapse_shape %y75 [[0], [1], [2], [3, 4]] : tensor<2x9x9x4x4xbf16> into tensor<2x9x9x16xbf16>
    return %c76 : tensor<2x9x9x16xbf16>
  }
  func.func @conv_2d_bf16_bwd_2x9x9x16_nhwc_16x3x3x4_fhwc_nhwf_1x1s_1x1p_1x1d_4g_into(%arg0: tensor<2x9x9x16xbf16>, %arg1: tensor<16x3x3x4xbf16>, %storage: tensor<2x9x9x16xbf16> {iree.abi.output = 0 : index}) -> tensor<2x9x9x16xbf16> {
    %result = call @conv_2d_bf16_bwd_2x9x9x16_nhwc_16x3x3x4_fhwc_nhwf_1x1s_1x1p_1x1d_4g(%arg0, %arg1) : (tensor<2x9x9x16xbf16>, tensor<16x3x3x4xbf16>) -> tensor<2x9x9x16xbf16>
    return %result : tensor<2x9x9x16xbf16>
  }
}
