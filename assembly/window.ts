// The window geometry shared by the convolution and pooling kernels (TensorFlow's rule, as
// conv2dShape in src/core/backend.ts): n input rows, a window of k, stride s, same = 0 'valid' / 1 'same'.

/** output rows: 'valid' floor((n - k) / s) + 1, 'same' ceil(n / s) */
// @ts-ignore: decorator
@inline
export function outSize(n: i32, k: i32, s: i32, same: i32): i32 {
  return same ? (n + s - 1) / s : (n - k) / s + 1;
}

/** rows of zero padding before the first row: 'same' splits max((out - 1) s + k - n, 0) with the odd one after */
// @ts-ignore: decorator
@inline
export function padBefore(n: i32, k: i32, s: i32, same: i32): i32 {
  return same ? max(((n + s - 1) / s - 1) * s + k - n, 0) >> 1 : 0;
}
