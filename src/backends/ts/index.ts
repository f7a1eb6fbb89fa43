/**
 * The pure-TypeScript backend: the readable reference every WASM kernel is tested against, and
 * the fallback where WebAssembly (or its SIMD) is missing. Plain loops, same op names and argument
 * order as assembly/. Sums are carried in doubles (JS numbers) and stored as f32. The convolution
 * and max-pooling ops are fast paths (./conv.ts, ./pool.ts) bit-identical to their plain references
 * (./conv-reference.ts, ./pool-reference.ts), which the tests keep as the oracle.
 */
import type { Backend, DType, Tensor, TypedArrayOf } from '../../core/backend.js';
import { BYTES, checkConvActivation, checkNzColumns, dropoutKeep, dropoutParams } from '../../core/backend.js';
import { Activation } from '../../core/backend.js';
import { augmentRowsRef } from './augment.js';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dFilterTranspose, conv2dForward } from './conv.js';
import { avgpool2dBackward, avgpool2dForward, globalAvgpoolBackward, globalAvgpoolForward, maxpool2dBackward, maxpool2dForward } from './pool.js';
import { batchnormBackwardRef, batchnormForwardRef } from './batchnorm.js';

function make<D extends DType>(dtype: D, length: number): TypedArrayOf<D> {
  if (dtype === 'f32') return new Float32Array(length) as TypedArrayOf<D>;
  if (dtype === 'i32') return new Int32Array(length) as TypedArrayOf<D>;
  return new Uint8Array(length) as TypedArrayOf<D>;
}

/** optimizer state below this magnitude is flushed to 0, as in assembly/optim.ts (denormals are slow on x86) */
const TINY = 1e-30;

/** db (OC) += column sums of d (B, OC): the bias gradient */
function addColumnSums(db: Float32Array, d: Float32Array, B: number, OC: number): void {
  for (let j = 0; j < OC; j++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += d[b * OC + j];
    db[j] += sum;
  }
}

const sizeOf = (t: Tensor) => Math.ceil((t.length * BYTES[t.dtype]) / 16) * 16;

export class TsBackend implements Backend {
  readonly name = 'ts' as const;
  /** allocations in order; freed ones are undefined (the slot is reused), released ones are gone */
  private live: (Tensor | undefined)[] = [];
  private bytes = 0;

  alloc<D extends DType>(dtype: D, length: number): Tensor<D> {
    const host = make(dtype, length);
    const t: Tensor<D> = { dtype, length, byteOffset: this.bytes, host };
    this.bytes += sizeOf(t);
    const slot = this.live.indexOf(undefined);
    if (slot >= 0) this.live[slot] = t;
    else this.live.push(t);
    return t;
  }
  free(t: Tensor): void {
    const i = this.live.indexOf(t);
    if (i < 0) throw new RangeError('free: not a live allocation of this backend');
    this.live[i] = undefined;
    this.bytes -= sizeOf(t);
    while (this.live.length && this.live[this.live.length - 1] === undefined) this.live.length--;
  }
  mark(): number {
    return this.live.length;
  }
  release(mark: number): void {
    const gone = this.live.splice(mark);
    for (const t of gone) if (t) this.bytes -= sizeOf(t);
  }
  slice<D extends DType>(t: Tensor<D>, start: number, length: number): Tensor<D> {
    if (start < 0 || length < 0 || start + length > t.length) throw new RangeError(`slice [${start}, ${start + length}) outside tensor of ${t.length}`);
    const host = (t.host as Float32Array).subarray(start, start + length) as unknown as TypedArrayOf<D>;
    return { dtype: t.dtype, length, byteOffset: t.byteOffset + start * BYTES[t.dtype], host };
  }
  write<D extends DType>(t: Tensor<D>, src: ArrayLike<number>, at = 0): void {
    (t.host as Float32Array).set(src, at);
  }
  read<D extends DType>(t: Tensor<D>): TypedArrayOf<D> {
    return (t.host as Float32Array).slice() as unknown as TypedArrayOf<D>;
  }
  view<D extends DType>(t: Tensor<D>): TypedArrayOf<D> {
    return t.host as TypedArrayOf<D>;
  }
  memoryBytes(): number {
    return this.bytes;
  }

  // ---- ops ------------------------------------------------------------------------------------
  fill(out: Tensor<'f32'>, N: number, value: number): void {
    out.host!.fill(value, 0, N);
  }

  gather_rows_u8(out: Tensor<'f32'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, B: number, C: number, scale: number): void {
    const o = out.host!, s = src.host!, ix = idx.host!;
    for (let b = 0; b < B; b++) {
      const from = ix[b] * C;
      for (let c = 0; c < C; c++) o[b * C + c] = s[from + c] * scale;
    }
  }

  gather_u8(out: Tensor<'i32'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, B: number): void {
    const o = out.host!, s = src.host!, ix = idx.host!;
    for (let b = 0; b < B; b++) o[b] = s[ix[b]];
  }

  // inp is (B, C), weight is (C, OC), bias is (OC), out is (B, OC)
  matmul_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, C: number, OC: number): void {
    const o = out.host!, x = inp.host!, w = weight.host!, bs = bias ? bias.host! : null;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < OC; j++) {
        let sum = bs ? bs[j] : 0;
        for (let c = 0; c < C; c++) sum += x[b * C + c] * w[c * OC + j];
        o[b * OC + j] = sum;
      }
    }
  }

  // dout is (B, OC), inp is (B, C), weight is (C, OC); dinp is (B, C), dweight (C, OC), dbias (OC)
  matmul_backward(dinp: Tensor<'f32'> | null, dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, B: number, C: number, OC: number): void {
    const d = dout.host!, x = inp.host!, w = weight.host!;
    if (dinp) {
      const dx = dinp.host!;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let j = 0; j < OC; j++) sum += d[b * OC + j] * w[c * OC + j];
          dx[b * C + c] = sum;
        }
      }
    }
    const dw = dweight.host!;
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < OC; j++) {
        let sum = 0;
        for (let b = 0; b < B; b++) sum += x[b * C + c] * d[b * OC + j];
        dw[c * OC + j] += sum;
      }
    }
    if (dbias) addColumnSums(dbias.host!, d, B, OC);
  }

  activation_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, act: number): void {
    const o = out.host!, x = inp.host!;
    if (act === Activation.sigmoid) for (let i = 0; i < N; i++) o[i] = 1 / (1 + Math.exp(-x[i]));
    else if (act === Activation.relu) for (let i = 0; i < N; i++) o[i] = x[i] > 0 ? x[i] : 0;
    else if (act === Activation.tanh) for (let i = 0; i < N; i++) o[i] = Math.tanh(x[i]);
    else for (let i = 0; i < N; i++) o[i] = x[i];
  }

  activation_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, out: Tensor<'f32'>, N: number, act: number): void {
    const dx = dinp.host!, d = dout.host!, y = out.host!;
    if (act === Activation.sigmoid) for (let i = 0; i < N; i++) dx[i] = d[i] * y[i] * (1 - y[i]);
    else if (act === Activation.relu) for (let i = 0; i < N; i++) dx[i] = y[i] > 0 ? d[i] : 0;
    else if (act === Activation.tanh) for (let i = 0; i < N; i++) dx[i] = d[i] * (1 - y[i] * y[i]);
    else for (let i = 0; i < N; i++) dx[i] = d[i];
  }

  // logits and probs are (B, V), labels is (B)
  softmax_xent_forward(probs: Tensor<'f32'>, logits: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, smoothing = 0): number {
    const p = probs.host!, z = logits.host!, y = labels.host!;
    let loss = 0;
    for (let b = 0; b < B; b++) {
      const row = b * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (z[row + v] > max) max = z[row + v];
      let sum = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp(z[row + v] - max);
        p[row + v] = e;
        sum += e;
      }
      for (let v = 0; v < V; v++) p[row + v] /= sum;
      // -(1 - e) log softmax[label] - (e / V) sum_v log softmax[v], computed from the logits so it
      // stays finite; the shifted logits' sum only when smoothing (e = 0: -log softmax[label] exactly)
      let shifted = 0;
      if (smoothing !== 0) for (let v = 0; v < V; v++) shifted += z[row + v] - max;
      loss += Math.log(sum) - (1 - smoothing) * (z[row + y[b]] - max) - (smoothing / V) * shifted;
    }
    return loss;
  }

  softmax_xent_backward(dlogits: Tensor<'f32'>, probs: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, scale: number, smoothing = 0): void {
    const d = dlogits.host!, p = probs.host!, y = labels.host!;
    // the smoothed target: (1 - e) onehot + e / V (e = 0: 1 and 0)
    const off = smoothing / V, on = 1 - smoothing + off;
    for (let b = 0; b < B; b++) {
      for (let v = 0; v < V; v++) d[b * V + v] = (p[b * V + v] - (v === y[b] ? on : off)) * scale;
    }
  }

  sigmoid_mse_forward(probs: Tensor<'f32'>, logits: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number): number {
    const p = probs.host!, z = logits.host!, y = labels.host!;
    let loss = 0;
    for (let b = 0; b < B; b++) {
      for (let v = 0; v < V; v++) {
        const s = 1 / (1 + Math.exp(-z[b * V + v]));
        p[b * V + v] = s;
        const e = Math.fround(s) - (v === y[b] ? 1 : 0);
        loss += 0.5 * e * e;
      }
    }
    return loss;
  }

  sigmoid_mse_backward(dlogits: Tensor<'f32'>, probs: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, scale: number): void {
    const d = dlogits.host!, p = probs.host!, y = labels.host!;
    for (let b = 0; b < B; b++) {
      for (let v = 0; v < V; v++) {
        const s = p[b * V + v];
        d[b * V + v] = (s - (v === y[b] ? 1 : 0)) * s * (1 - s) * scale;
      }
    }
  }

  argmax_rows(out: Tensor<'i32'>, scores: Tensor<'f32'>, labels: Tensor<'i32'> | null, B: number, V: number): number {
    const o = out.host!, s = scores.host!, y = labels ? labels.host! : null;
    let correct = 0;
    for (let b = 0; b < B; b++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (s[b * V + v] > s[b * V + best]) best = v;
      o[b] = best;
      if (y && y[b] === best) correct++;
    }
    return correct;
  }

  // The updates carry the divergence guard (see Backend.sgd_update): gradients are checked first,
  // and an element whose new weight is not finite keeps its old weight and state.
  sgd_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, N: number, lr: number, weightDecay: number): number {
    const bad = this.count_nonfinite(grads, N);
    if (bad) return bad;
    return negated(sgdApply(params.host!, grads.host!, N, lr, weightDecay));
  }

  momentum_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, vel: Tensor<'f32'>, N: number, lr: number, mu: number, weightDecay: number, nesterov: number): number {
    const bad = this.count_nonfinite(grads, N);
    if (bad) return bad;
    return negated(momentumApply(params.host!, grads.host!, vel.host!, N, lr, mu, weightDecay, nesterov));
  }

  adam_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, m: Tensor<'f32'>, v: Tensor<'f32'>, N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: number, bc1: number, bc2: number): number {
    const p = params.host!, g = grads.host!, mm = m.host!, vv = v.host!;
    const bad = this.count_nonfinite(grads, N);
    if (bad) return bad;
    let kept = 0;
    for (let i = 0; i < N; i++) {
      const gi = decoupled ? g[i] : g[i] + weightDecay * p[i];
      let mi = Math.fround(beta1 * mm[i] + (1 - beta1) * gi);
      let vi = Math.fround(beta2 * vv[i] + (1 - beta2) * gi * gi);
      if (Math.abs(mi) < TINY) mi = 0;
      if (vi < TINY) vi = 0;
      const step = (mi / bc1) / (Math.sqrt(vi / bc2) + eps);
      const np = Math.fround(p[i] - lr * (decoupled ? step + weightDecay * p[i] : step));
      if (!Number.isFinite(np)) {
        kept++;
        continue;
      }
      mm[i] = mi;
      vv[i] = vi;
      p[i] = np;
    }
    return negated(kept);
  }

  count_nonfinite(x: Tensor<'f32'>, N: number): number {
    const a = x.host!;
    let count = 0;
    for (let i = 0; i < N; i++) if (!Number.isFinite(a[i])) count++;
    return count;
  }

  nz_count(nzStart: Tensor<'i32'>, src: Tensor<'u8'>, rows: number, C: number): number {
    const st = nzStart.host!, x = src.host!;
    let total = 0;
    st[0] = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < C; c++) if (x[r * C + c] !== 0) total++;
      st[r + 1] = total;
    }
    return total;
  }

  nz_fill(nzIdx: Tensor<'i32'>, nzStart: Tensor<'i32'>, src: Tensor<'u8'>, rows: number, C: number): void {
    checkNzColumns(C);
    const ix = nzIdx.host!, x = src.host!;
    let at = 0;
    // packed entries: column << 8 | pixel
    for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) if (x[r * C + c] !== 0) ix[at++] = (c << 8) | x[r * C + c];
  }

  // out is (B, OC); row b of X is src[idx[b]] * scale, visited through its non-zeros only
  conv2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, act: number, b0 = 0, b1 = B): void {
    checkConvActivation(act);
    conv2dForward(out.host!, inp.host!, weight.host!, bias ? bias.host! : null, B, H, W, C, OC, KH, KW, S, same, act, b0, b1);
  }
  conv2d_filter_transpose(weightT: Tensor<'f32'>, weight: Tensor<'f32'>, KH: number, KW: number, C: number, OC: number): void {
    conv2dFilterTranspose(weightT.host!, weight.host!, KH, KW, C, OC);
  }
  conv2d_backward_input(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, weightT: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    conv2dBackwardInput(dinp.host!, dout.host!, weightT.host!, B, H, W, C, OC, KH, KW, S, same, b0, b1);
  }
  conv2d_backward_filter(dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, o0 = 0, o1 = OC): void {
    conv2dBackwardFilter(dweight.host!, dbias ? dbias.host! : null, dout.host!, inp.host!, B, H, W, C, OC, KH, KW, S, same, o0, o1);
  }
  maxpool2d_forward(out: Tensor<'f32'>, argmax: Tensor<'i32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    maxpool2dForward(out.host!, argmax.host!, inp.host!, B, H, W, C, K, S, same, b0, b1);
  }
  maxpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, argmax: Tensor<'i32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    maxpool2dBackward(dinp.host!, dout.host!, argmax.host!, B, H, W, C, K, S, same, b0, b1);
  }
  avgpool2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    avgpool2dForward(out.host!, inp.host!, B, H, W, C, K, S, same, b0, b1);
  }
  avgpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    avgpool2dBackward(dinp.host!, dout.host!, B, H, W, C, K, S, same, b0, b1);
  }
  global_avgpool_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, N: number, C: number, b0 = 0, b1 = B): void {
    globalAvgpoolForward(out.host!, inp.host!, B, N, C, b0, b1);
  }
  global_avgpool_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, B: number, N: number, C: number, b0 = 0, b1 = B): void {
    globalAvgpoolBackward(dinp.host!, dout.host!, B, N, C, b0, b1);
  }
  batchnorm_forward(out: Tensor<'f32'>, mean: Tensor<'f32'>, invstd: Tensor<'f32'>, runMean: Tensor<'f32'>, runVar: Tensor<'f32'>, inp: Tensor<'f32'>, gamma: Tensor<'f32'>, beta: Tensor<'f32'>, N: number, C: number, eps: number, momentum: number, training: boolean, c0 = 0, c1 = C): void {
    batchnormForwardRef(out.host!, mean.host!, invstd.host!, runMean.host!, runVar.host!, inp.host!, gamma.host!, beta.host!, N, C, eps, momentum, training, c0, c1);
  }
  batchnorm_backward(dinp: Tensor<'f32'>, dgamma: Tensor<'f32'>, dbeta: Tensor<'f32'>, dout: Tensor<'f32'>, inp: Tensor<'f32'>, gamma: Tensor<'f32'>, mean: Tensor<'f32'>, invstd: Tensor<'f32'>, N: number, C: number, c0 = 0, c1 = C): void {
    batchnormBackwardRef(dinp.host!, dgamma.host!, dbeta.host!, dout.host!, inp.host!, gamma.host!, mean.host!, invstd.host!, N, C, c0, c1);
  }
  sparse_matmul_forward(out: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, C: number, OC: number, scale: number): void {
    const o = out.host!, st = nzStart.host!, ix = nzIdx.host!, rows = idx.host!, w = weight.host!, bs = bias ? bias.host! : null;
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      for (let j = 0; j < OC; j++) {
        let sum = bs ? bs[j] : 0;
        for (let p = st[r]; p < st[r + 1]; p++) sum += (ix[p] & 255) * scale * w[(ix[p] >>> 8) * OC + j];
        o[b * OC + j] = sum;
      }
    }
  }

  sparse_matmul_backward(dweight: Tensor<'f32'> | null, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, B: number, C: number, OC: number, scale: number): void {
    const d = dout.host!, st = nzStart.host!, ix = nzIdx.host!, rows = idx.host!;
    const dw = dweight?.host;
    for (let b = 0; dw && b < B; b++) {
      const r = rows[b];
      for (let p = st[r]; p < st[r + 1]; p++) {
        const k = ix[p] >>> 8, v = (ix[p] & 255) * scale;
        for (let j = 0; j < OC; j++) dw[k * OC + j] += v * d[b * OC + j];
      }
    }
    if (dbias) addColumnSums(dbias.host!, d, B, OC);
  }

  /** the reference composes it: the guard on dout, dW into dweight from zeros, then the update */
  sparse_update(weight: Tensor<'f32'>, vel: Tensor<'f32'> | null, dweight: Tensor<'f32'>, dout: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, B: number, C: number, OC: number, scale: number, lr: number, mu: number, weightDecay: number, nesterov: number): number {
    const bad = this.count_nonfinite(dout, B * OC);
    if (bad) return bad;
    dweight.host!.fill(0, 0, C * OC);
    this.sparse_matmul_backward(dweight, null, dout, nzStart, nzIdx, idx, B, C, OC, scale);
    const N = C * OC;
    return negated(vel ? momentumApply(weight.host!, dweight.host!, vel.host!, N, lr, mu, weightDecay, nesterov) : sgdApply(weight.host!, dweight.host!, N, lr, weightDecay));
  }

  dropout_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void {
    const o = out.host!, x = inp.host!, { threshold, scale } = dropoutParams(p);
    for (let i = 0; i < N; i++) o[i] = dropoutKeep(i, stream, seed, threshold) ? x[i] * scale : 0;
  }

  /** the same mask and scaling as the forward call with this seed and stream */
  augment_rows_u8(out: Tensor<'u8'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, params: Tensor<'f32'>, field: Tensor<'f32'>, B: number, W: number, H: number, seed: number, stream: number, shift: number, rotate: number, scale: number, alpha: number, R: number, random: boolean): void {
    augmentRowsRef(out.host!, src.host!, idx.host!, params.host!, field.host!, B, W, H, seed, stream, shift, rotate, scale, alpha, R, random);
  }
  dropout_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void {
    this.dropout_forward(dinp, dout, N, p, seed, stream);
  }
}

/** params -= lr * (g + wd * params), element by element; returns how many were kept (non-finite result) */
function sgdApply(p: Float32Array, g: Float32Array, N: number, lr: number, weightDecay: number): number {
  let kept = 0;
  for (let i = 0; i < N; i++) {
    const np = Math.fround(p[i] - lr * (g[i] + weightDecay * p[i]));
    if (Number.isFinite(np)) p[i] = np;
    else kept++;
  }
  return kept;
}

/** momentum / Nesterov (see Backend.momentum_update) element by element; returns how many were kept */
function momentumApply(p: Float32Array, g: Float32Array, v: Float32Array, N: number, lr: number, mu: number, weightDecay: number, nesterov: number): number {
  let kept = 0;
  for (let i = 0; i < N; i++) {
    const gi = g[i] + weightDecay * p[i];
    let vi = Math.fround(mu * v[i] + gi);
    if (Math.abs(vi) < TINY) vi = 0;
    const np = Math.fround(p[i] - lr * (nesterov ? gi + mu * vi : vi));
    if (!Number.isFinite(np)) {
      kept++;
      continue;
    }
    v[i] = vi;
    p[i] = np;
  }
  return kept;
}

/** the guard's count of kept weights as returned (0, not -0, when none) */
const negated = (kept: number): number => (kept ? -kept : 0);
