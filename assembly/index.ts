// simdnet kernels: the export surface only. Every op of the Backend interface (src/core/backend.ts),
// same names and argument order; tensors are byte offsets into the host-owned memory (env.memory),
// 0 = null for nullable arguments; sizes are i32; losses come back as f64, counts as i32. Every
// export and its parameter count is listed once in src/core/abi.ts (test/abi.test.ts checks each build).
export { fill, gather_rows_u8, gather_u8 } from './data';
export { matmul_forward, matmul_backward, matmul_backward_part } from './matmul';
export { activation_forward, activation_backward } from './activations';
export { softmax_xent_forward, softmax_xent_backward, sigmoid_mse_forward, sigmoid_mse_backward, argmax_rows } from './softmax_xent';
export { sgd_update, momentum_update, adam_update, count_nonfinite } from './optim';
export { nz_count, nz_fill, sparse_matmul_forward, sparse_matmul_backward, sparse_matmul_backward_rows, sparse_update, sparse_update_rows } from './sparse';

/** first byte the host may allocate from (above the static data and the kernels' scratch) */
export function heap_base(): usize {
  return STATIC_SCRATCH + SCRATCH_BYTES;
}
import { STATIC_SCRATCH, SCRATCH_BYTES } from './scratch';
export { set_scratch } from './scratch';

/** the bytes of kernel scratch an instance needs (set_scratch) */
export function scratch_bytes(): usize {
  return SCRATCH_BYTES;
}
export { conv2d_forward, conv2d_filter_transpose, conv2d_backward_input, conv2d_backward_filter } from './conv';
export { maxpool2d_forward, maxpool2d_backward, avgpool2d_forward, avgpool2d_backward, global_avgpool_forward, global_avgpool_backward } from './pool';
export { batchnorm_forward, batchnorm_backward } from './batchnorm';
export { dropout_forward, dropout_backward } from './dropout';
export { augment_rows_u8 } from './augment';
