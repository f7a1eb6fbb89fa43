/**
 * The Backend interface: one set of op names, shared by the pure-TypeScript reference
 * (src/backends/ts) and the AssemblyScript/WASM kernels (assembly/, src/backends/wasm).
 *
 * Tensors are handles into the backend's memory: a dtype, an element count and a byte offset.
 * The WASM backend passes the offset straight to the kernel (values cross the boundary as
 * arguments, never as copied arrays); the TS backend keeps a typed array per tensor. Handles stay
 * valid when the WASM memory grows, which typed-array views would not.
 *
 * Shapes are written llm.c-style: B = rows in the batch, C = input features, OC = output features,
 * V = classes, N = element count. Arguments are outputs first, then inputs, then sizes.
 * Backward kernels ACCUMULATE into weight and bias gradients (zeroing is its own call) and
 * OVERWRITE input gradients.
 */
import { ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_TANH, NZ_MAX_COLUMNS } from './abi.js';

export type DType = 'f32' | 'i32' | 'u8';
export type BackendName = 'wasm-simd' | 'wasm-scalar' | 'ts';
export type BackendPreference = 'auto' | 'wasm' | 'wasm-simd' | 'wasm-scalar' | 'ts';

export type TypedArrayOf<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : Uint8Array;

/** the kept-unit threshold and scale of a dropout rate p in [0, 1) */
export function dropoutParams(p: number): { threshold: number; scale: number } {
  return { threshold: Math.min(0xffffffff, Math.floor(p * 4294967296)), scale: Math.fround(1 / (1 - p)) };
}

/** the counter hash behind dropout masks and augmentation warps: lowbias32 of (i, stream, seed), as assembly/hash.ts */
export function counterHash(i: number, stream: number, seed: number): number {
  let x = (i + Math.imul(stream, 0x9e3779b9) + Math.imul(seed, 0x85ebca6b)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** dropout's keep test on the counter hash, as in assembly/dropout.ts */
export function dropoutKeep(i: number, stream: number, seed: number, threshold: number): boolean {
  return counterHash(i, stream, seed) >= threshold;
}

export const BYTES: Record<DType, number> = { f32: 4, i32: 4, u8: 1 };

/** the most columns the packed non-zero entries of nz_fill hold (column << 8 | pixel in an i32) */
export { NZ_MAX_COLUMNS };

/** throws a RangeError when nz_fill's packed entries cannot hold C columns */
export function checkNzColumns(C: number): void {
  if (C > NZ_MAX_COLUMNS) throw new RangeError(`nz_fill: ${C} columns do not fit the packed non-zero entries (at most ${NZ_MAX_COLUMNS})`);
}

/**
 * The output shape and leading padding of a 2-D convolution or pooling window over an H x W input
 * (TensorFlow's rule): 'valid' (same = false) OH = floor((H - KH) / S) + 1 and no padding; 'same'
 * OH = ceil(H / S) with max((OH - 1) S + KH - H, 0) rows of zeros split top/bottom, the odd one at
 * the bottom (PT rows on top); the same for widths. OH or OW < 1 means the window does not fit.
 */
export function conv2dShape(H: number, W: number, KH: number, KW: number, S: number, same: boolean): { OH: number; OW: number; PT: number; PL: number } {
  const size = (n: number, k: number) => (same ? Math.floor((n + S - 1) / S) : Math.floor((n - k) / S) + 1);
  const pad = (n: number, k: number, o: number) => (same ? Math.max((o - 1) * S + k - n, 0) >> 1 : 0);
  const OH = size(H, KH), OW = size(W, KW);
  return { OH, OW, PT: pad(H, KH, OH), PL: pad(W, KW, OW) };
}

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  /** element count */
  readonly length: number;
  /** byte offset in the backend's memory (WASM); 16-byte aligned for fresh allocations */
  readonly byteOffset: number;
  /** host array (TS backend only) */
  readonly host?: TypedArrayOf<D>;
}

/** the activation codes the kernels take, by name (src/core/abi.ts) */
export const Activation = { linear: ACT_LINEAR, sigmoid: ACT_SIGMOID, relu: ACT_RELU, tanh: ACT_TANH } as const;
export type ActivationName = keyof typeof Activation;

/** conv2d_forward's activation: linear or relu (other activations run as their own pass); a RangeError otherwise */
export function checkConvActivation(act: number): void {
  if (act !== ACT_LINEAR && act !== ACT_RELU) throw new RangeError(`conv2d_forward: activation code ${act} is not linear (${ACT_LINEAR}) or relu (${ACT_RELU})`);
}

export interface Backend {
  readonly name: BackendName;

  // ---- memory -------------------------------------------------------------------------------
  /** a zero-filled tensor; WASM grows its memory only here */
  alloc<D extends DType>(dtype: D, length: number): Tensor<D>;
  /**
   * return a tensor alloc() gave (not a slice of one) to the backend: later allocations reuse its
   * memory (WASM: the smallest free range that holds them, before growing)
   */
  free(t: Tensor): void;
  /** allocation watermark, to free everything allocated on top after it with release() (an allocation that reused freed memory below the mark is not) */
  mark(): number;
  release(mark: number): void;
  /** a sub-range of t, in elements (no copy) */
  slice<D extends DType>(t: Tensor<D>, start: number, length: number): Tensor<D>;
  /** copy host values into t starting at element `at` */
  write<D extends DType>(t: Tensor<D>, src: ArrayLike<number>, at?: number): void;
  /** a copy of t's values */
  read<D extends DType>(t: Tensor<D>): TypedArrayOf<D>;
  /** a live view of t (valid until the next alloc): for reading results without a copy */
  view<D extends DType>(t: Tensor<D>): TypedArrayOf<D>;
  /** bytes of memory the backend holds */
  memoryBytes(): number;

  // ---- ops (same names in assembly/) ----------------------------------------------------------
  /** out[0..N) = value */
  fill(out: Tensor<'f32'>, N: number, value: number): void;
  /** out (B,C) = src[idx[b]] (rows of C bytes) * scale; src is (rows, C) u8, idx is (B) */
  gather_rows_u8(out: Tensor<'f32'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, B: number, C: number, scale: number): void;
  /** out (B) = src[idx[b]]; src is u8 labels */
  gather_u8(out: Tensor<'i32'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, B: number): void;
  /** out (B,OC) = inp (B,C) . weight (C,OC) + bias (OC) (bias may be null) */
  matmul_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, C: number, OC: number): void;
  /**
   * dinp (B,C) = dout (B,OC) . weight^T            (overwritten; skipped when null)
   * dweight (C,OC) += inp^T . dout                  (accumulated)
   * dbias (OC) += column sums of dout               (accumulated; skipped when null)
   */
  matmul_backward(dinp: Tensor<'f32'> | null, dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, B: number, C: number, OC: number): void;
  /** out = act(inp), elementwise over N; act in {sigmoid, relu, tanh}; out may alias inp */
  activation_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, act: number): void;
  /** dinp = dout * act'(from out); dinp may alias dout */
  activation_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, out: Tensor<'f32'>, N: number, act: number): void;
  /**
   * probs (B,V) = softmax(logits); returns the sum over rows of the cross-entropy against the target
   * t = (1 - smoothing) onehot(label) + smoothing / V (label smoothing; default 0: -log probs[label])
   */
  softmax_xent_forward(probs: Tensor<'f32'>, logits: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, smoothing?: number): number;
  /** dlogits (B,V) = (probs - t) * scale, t = (1 - smoothing) onehot(labels) + smoothing / V (default 0) */
  softmax_xent_backward(dlogits: Tensor<'f32'>, probs: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, scale: number, smoothing?: number): void;
  /** probs (B,V) = sigmoid(logits); returns sum over rows of 0.5 * sum_v (probs - onehot)^2 */
  sigmoid_mse_forward(probs: Tensor<'f32'>, logits: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number): number;
  /** dlogits = (probs - onehot) * probs * (1 - probs) * scale */
  sigmoid_mse_backward(dlogits: Tensor<'f32'>, probs: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, scale: number): void;
  /** out (B) = argmax over each row of scores (B,V); first maximum wins; returns count where out == labels (labels may be null: returns 0) */
  argmax_rows(out: Tensor<'i32'>, scores: Tensor<'f32'>, labels: Tensor<'i32'> | null, B: number, V: number): number;
  /** params -= lr * (grads + weightDecay * params). In momentum_update and adam_update, optimizer
   *  state (vel, m, v) of magnitude below 1e-30 is flushed to 0: f32 denormals are ~100x slower on x86.
   *  The three updates carry the divergence guard and return:
   *    0   all applied;
   *    n>0 n gradients are NaN or Inf: nothing was changed;
   *    n<0 -n elements would have become NaN or Inf: those keep their old weight and state, the rest were updated. */
  sgd_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, N: number, lr: number, weightDecay: number): number;
  /** g = grads + wd*params; vel = mu*vel + g; params -= lr * (nesterov ? g + mu*vel : vel) */
  momentum_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, vel: Tensor<'f32'>, N: number, lr: number, mu: number, weightDecay: number, nesterov: number): number;
  /**
   * Adam (decoupled = 0: L2 added to the gradient) or AdamW (decoupled = 1: params -= lr*wd*params).
   * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; params -= lr * (m/bc1) / (sqrt(v/bc2) + eps),
   * bc1 = 1 - b1^t and bc2 = 1 - b2^t passed by the caller.
   */
  adam_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, m: Tensor<'f32'>, v: Tensor<'f32'>, N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: number, bc1: number, bc2: number): number;
  /** how many of x[0..N) are NaN or infinite */
  count_nonfinite(x: Tensor<'f32'>, N: number): number;

  /**
   * Inverted dropout: out = keep ? inp / (1 - p) : 0, unit i kept when an integer hash of
   * (i, stream, seed) is >= floor(p * 2^32); the same hash in every backend, never stored.
   */
  dropout_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void;
  /** dinp = keep ? dout / (1 - p) : 0, with the mask of the forward call with this seed and stream */
  dropout_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void;

  // ---- convolution (NHWC; assembly/conv.ts: shapes, padding, summation order) --------------------
  // B images of H x W x C in, OH x OW x OC out (conv2dShape), kernel KH x KW, stride S, padding
  // 'same' (true) or 'valid'. A range ([b0, b1) of the batch, [o0, o1) of the output channels,
  // default all) computes only that part, bit-identical to the whole call's.
  /**
   * out (B,OH,OW,OC) = act(conv(inp (B,H,W,C), weight (KH,KW,C,OC)) + bias (OC)) (bias may be null);
   * act is Activation.linear or Activation.relu (x > 0 ? x : 0, as activation_forward), applied as
   * each output is stored (checkConvActivation)
   */
  conv2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, act: number, b0?: number, b1?: number): void;
  /** weightT (KH,KW,OC,C) = weight (KH,KW,C,OC) with each tap's matrix transposed: conv2d_backward_input's filter */
  conv2d_filter_transpose(weightT: Tensor<'f32'>, weight: Tensor<'f32'>, KH: number, KW: number, C: number, OC: number): void;
  /** dinp (B,H,W,C) = d out / d inp applied to dout (B,OH,OW,OC) (overwritten), weightT from conv2d_filter_transpose */
  conv2d_backward_input(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, weightT: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, b0?: number, b1?: number): void;
  /** dweight (KH,KW,C,OC) += d out / d weight applied to dout, dbias (OC) += sums of dout (accumulated; dbias skipped when null) */
  conv2d_backward_filter(dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, o0?: number, o1?: number): void;

  // ---- pooling (NHWC; assembly/pool.ts): K x K windows, stride S, 'same' or 'valid' as conv2dShape ----
  /** out, argmax (B,OH,OW,C) = the first largest element of each window of inp (B,H,W,C), and its index ((h W + w) C + c) in its image */
  maxpool2d_forward(out: Tensor<'f32'>, argmax: Tensor<'i32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0?: number, b1?: number): void;
  /** dinp (B,H,W,C) = dout (B,OH,OW,C) routed to the forward's argmax (overwritten) */
  maxpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, argmax: Tensor<'i32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0?: number, b1?: number): void;
  /** out (B,OH,OW,C) = the mean of each window's elements inside inp (B,H,W,C) */
  avgpool2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0?: number, b1?: number): void;
  /** dinp (B,H,W,C) = dout spread evenly over each window (overwritten) */
  avgpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0?: number, b1?: number): void;
  /** out (B,C) = the mean over the N = H W pixels of inp (B,N,C) */
  global_avgpool_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, N: number, C: number, b0?: number, b1?: number): void;
  /** dinp (B,N,C) = dout (B,C) / N (overwritten) */
  global_avgpool_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, B: number, N: number, C: number, b0?: number, b1?: number): void;

  // ---- batch normalisation over the channels (assembly/batchnorm.ts) --------------------------------
  /**
   * out (N,C) = gamma * ((inp - mean) * invstd) + beta, N rows (B H W of NHWC data, or B), C channels.
   * training: mean and invstd = 1/sqrt(var + eps) of the batch (biased variance) are written for the
   * backward and runMean/runVar become momentum * running + (1 - momentum) * batch; else mean and
   * invstd come from runMean/runVar, which stay. Channels [c0, c1) (default all).
   */
  batchnorm_forward(out: Tensor<'f32'>, mean: Tensor<'f32'>, invstd: Tensor<'f32'>, runMean: Tensor<'f32'>, runVar: Tensor<'f32'>, inp: Tensor<'f32'>, gamma: Tensor<'f32'>, beta: Tensor<'f32'>, N: number, C: number, eps: number, momentum: number, training: boolean, c0?: number, c1?: number): void;
  /** dinp (N,C) = the gradient through the training forward (overwritten); dgamma, dbeta (C) += theirs (accumulated); mean, invstd from the forward */
  batchnorm_backward(dinp: Tensor<'f32'>, dgamma: Tensor<'f32'>, dbeta: Tensor<'f32'>, dout: Tensor<'f32'>, inp: Tensor<'f32'>, gamma: Tensor<'f32'>, mean: Tensor<'f32'>, invstd: Tensor<'f32'>, N: number, C: number, c0?: number, c1?: number): void;

  // ---- augmentation (options src/nn/augment.ts, kernel assembly/augment.ts, reference src/backends/ts/augment.ts)
  /**
   * out (B, W*H) u8 = rows idx[b] of src (rows, W*H) u8, each warped by its own affine transform
   * (params (B, 4) f32: tx, ty, angle in radians, scale; drawn from a hash of (seed, stream, b) when
   * random, else read) and elastic field (alpha > 0; field is scratch laid out by augmentScratch,
   * its first 2R+1 values the Gaussian weights); bilinear sampling of the inverse map, zero outside.
   */
  augment_rows_u8(out: Tensor<'u8'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, params: Tensor<'f32'>, field: Tensor<'f32'>, B: number, W: number, H: number, seed: number, stream: number, shift: number, rotate: number, scale: number, alpha: number, R: number, random: boolean): void;

  // ---- the exact sparse first layer (zero inputs skipped) ----------------------------------------
  /** nzStart (rows + 1) = prefix counts of the non-zeros of src (rows, C) u8; returns the total */
  nz_count(nzStart: Tensor<'i32'>, src: Tensor<'u8'>, rows: number, C: number): number;
  /** nzIdx (nnz) = each non-zero of src, row after row, packed as column << 8 | pixel (C <= NZ_MAX_COLUMNS, else RangeError) */
  nz_fill(nzIdx: Tensor<'i32'>, nzStart: Tensor<'i32'>, src: Tensor<'u8'>, rows: number, C: number): void;
  /**
   * out (B,OC) = X . weight + bias, X's row b being row idx[b] of a u8 dataset, given by its packed
   * non-zeros (nz_count / nz_fill on that dataset: nzStart, nzIdx), each pixel times scale
   */
  sparse_matmul_forward(out: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, C: number, OC: number, scale: number): void;
  /** dweight (C,OC) += X^T . dout, dbias (OC) += column sums of dout (each skipped when null); X as above */
  sparse_matmul_backward(dweight: Tensor<'f32'> | null, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, B: number, C: number, OC: number, scale: number): void;
  /**
   * The first layer's optimizer step fused with its weight gradient: weight (C,OC) takes the
   * sgd_update (vel null) or momentum_update (vel (C,OC)) step with dW = X^T . dout (X as above),
   * which wasm never stores (dweight (C,OC) is scratch for partial sums and may be left changed).
   * Returns like the updates, with the guard on dout: n > 0 NaN/Inf values in dout, nothing changed;
   * n < 0 that many weights would have become NaN/Inf and kept their old value and state.
   */
  sparse_update(weight: Tensor<'f32'>, vel: Tensor<'f32'> | null, dweight: Tensor<'f32'>, dout: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, B: number, C: number, OC: number, scale: number, lr: number, mu: number, weightDecay: number, nesterov: number): number;
}
