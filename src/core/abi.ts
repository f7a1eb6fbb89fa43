/**
 * The wasm interface, written once: the kernels (assembly/, compiled by asc) import this file by a
 * relative path and the host (src/, compiled by tsc) imports it as a module, as AssemblyScript's std
 * shares std/assembly/shared/ between its compiler and its library. So it holds only what both
 * languages read the same way: `export const NAME = <integer expression>` (an i32 in AssemblyScript)
 * and `export enum`, and it imports nothing. What TypeScript derives from it (the kernels' raw
 * export type, the team's op list) is in src/backends/wasm/kernels.ts; test/abi.test.ts checks the
 * four built binaries against it.
 */

// ---- activation codes: activation_forward / activation_backward's `act` (Activation in backend.ts) ----
export const ACT_LINEAR = 0;
export const ACT_SIGMOID = 1;
export const ACT_RELU = 2;
export const ACT_TANH = 3;

// ---- limits the host checks before a call and the kernels rely on ----
/** nz_fill packs each non-zero as column << 8 | pixel in an i32: inputs of at most 2^23 columns */
export const NZ_MAX_COLUMNS = 1 << 23;
/**
 * the fused first-layer update's column lists (sparse_update_rows) hold layers of at most this
 * many inputs: the host splits wider layers' updates between threads no further
 */
export const CSC_MAX_COLUMNS = 4096;

/**
 * Every function assembly/index.ts exports, and its parameter count. The argument order of each is
 * the Backend op's of the same name (src/core/backend.ts): outputs first, then inputs, then sizes;
 * tensors are byte offsets into the host-owned memory (0 = null), sizes i32.
 */
export enum KernelArgs {
  heap_base = 0,
  scratch_bytes = 0,
  set_scratch = 1,
  fill = 3,
  gather_rows_u8 = 6,
  gather_u8 = 4,
  matmul_forward = 7,
  matmul_backward = 9,
  matmul_backward_part = 13,
  activation_forward = 4,
  activation_backward = 5,
  softmax_xent_forward = 6,
  softmax_xent_backward = 7,
  sigmoid_mse_forward = 5,
  sigmoid_mse_backward = 6,
  argmax_rows = 5,
  sgd_update = 5,
  momentum_update = 8,
  adam_update = 13,
  count_nonfinite = 2,
  nz_count = 4,
  nz_fill = 5,
  sparse_matmul_forward = 10,
  sparse_matmul_backward = 10,
  sparse_matmul_backward_rows = 12,
  sparse_update = 15,
  sparse_update_rows = 17,
  dropout_forward = 8,
  dropout_backward = 8,
  augment_rows_u8 = 16,
  conv2d_forward = 16,
  conv2d_filter_transpose = 6,
  conv2d_backward_input = 14,
  conv2d_backward_filter = 17,
  maxpool2d_forward = 12,
  maxpool2d_backward = 12,
  avgpool2d_forward = 11,
  avgpool2d_backward = 11,
  global_avgpool_forward = 7,
  global_avgpool_backward = 7,
  batchnorm_forward = 15,
  batchnorm_backward = 12,
}

/**
 * The kernels a worker thread runs (src/backends/wasm/threads.ts), numbered: the number is what the
 * calling thread posts in a worker's control block. Each takes a part of one call whose result does
 * not depend on the split: a range of rows, channels or elements (its last arguments, or offsets
 * and counts the host computes).
 */
export enum TeamKernel {
  sparse_matmul_forward,
  sparse_update_rows,
  sparse_matmul_backward_rows,
  sgd_update,
  momentum_update,
  adam_update,
  count_nonfinite,
  fill,
  matmul_forward,
  matmul_backward_part,
  activation_forward,
  activation_backward,
  dropout_forward,
  dropout_backward,
  conv2d_forward,
  conv2d_backward_input,
  conv2d_backward_filter,
  maxpool2d_forward,
  maxpool2d_backward,
  avgpool2d_forward,
  avgpool2d_backward,
  global_avgpool_forward,
  global_avgpool_backward,
  batchnorm_forward,
  batchnorm_backward,
}
