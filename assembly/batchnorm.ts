// Batch normalisation over the channels of NHWC data (or the features of a dense layer's output).
//   N = rows (B H W for a convolution's output, B for a dense one), C = channels
//   inp, out, dout, dinp are (N, C); gamma, beta, mean, invstd, runMean, runVar, dgamma, dbeta are (C)
// Forward, training = 1 (Keras' rule): the batch's mean and biased variance per channel, summed in
// f64 over the rows in order (two passes: the mean, then the squares of x - mean); the saved mean and
// invstd = 1 / sqrt(var + eps) are those f64 values rounded to f32; the running statistics become
// momentum * running + (1 - momentum) * batch (in f64, rounded to f32). training = 0: mean and
// invstd from the running statistics (nothing is updated). Then, in f32, each step rounded:
//   out = gamma * ((x - mean) * invstd) + beta
// Backward (training statistics), with xhat = (x - mean) * invstd in f32 as in the forward:
//   sdy = sum dout, sdx = sum dout * xhat (f64, rows in order); dbeta += sdy, dgamma += sdx (f32)
//   dinp = k * ((N * dout - sdy) - xhat * sdx) in f32, k = gamma * invstd / N and sdy, sdx rounded to f32
// The sums are per channel, so a range of channels [c0, c1) splits nothing: bit-identical to one
// call. The SIMD build adds two channels per f64x2 lane pair, in the same order: every build and
// the TS reference agree bit for bit.
import { checkSpan } from './data';
import { scratch, SCRATCH_WT_AT } from './scratch';

/** channels per pass of the sums: two f64 accumulators each in the 64 KiB scratch region of matmul.ts */
const CH = 4096;

export function batchnorm_forward(out: usize, mean: usize, invstd: usize, runMean: usize, runVar: usize, inp: usize, gamma: usize, beta: usize, N: i32, C: i32, eps: f64, momentum: f64, training: i32, c0: i32, c1: i32): void {
  assert(N > 0 && 0 <= c0 && c0 <= c1 && c1 <= C, 'batchnorm_forward: bad shape or range');
  checkSpan(out, N * C, 4);
  checkSpan(inp, N * C, 4);
  for (let i = 0; i < 6; i++) checkSpan(i == 0 ? mean : i == 1 ? invstd : i == 2 ? runMean : i == 3 ? runVar : i == 4 ? gamma : beta, C, 4);
  const row = <usize>C << 2;
  const A = scratch() + SCRATCH_WT_AT;
  for (let a0 = c0; a0 < c1; a0 += CH) {
    const a1 = min(c1, a0 + CH);
    if (training) {
      // pass 1: the sums of x; pass 2: the sums of (x - mean)^2
      for (let pass = 0; pass < 2; pass++) {
        memory.fill(A, 0, <usize>(a1 - a0) << 3);
        for (let n = 0; n < N; n++) {
          const x = inp + <usize>n * row;
          let c = a0;
          if (ASC_FEATURE_SIMD) {
            for (; c + 4 <= a1; c += 4) {
              const v = v128.load(x + (<usize>c << 2));
              let lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
              const s = A + (<usize>(c - a0) << 3);
              if (pass) {
                lo = f64x2.sub(lo, v128.load(s, CH << 3));
                hi = f64x2.sub(hi, v128.load(s, (CH << 3) + 16));
                lo = f64x2.mul(lo, lo);
                hi = f64x2.mul(hi, hi);
              }
              v128.store(s, f64x2.add(v128.load(s), lo));
              v128.store(s, f64x2.add(v128.load(s, 16), hi), 16);
            }
          }
          for (; c < a1; c++) {
            const s = A + (<usize>(c - a0) << 3);
            let v = <f64>load<f32>(x + (<usize>c << 2));
            if (pass) {
              v -= load<f64>(s, CH << 3);
              v *= v;
            }
            store<f64>(s, load<f64>(s) + v);
          }
        }
        // the mean (pass 1: kept in f64 beside the sums for pass 2) or the variance
        for (let c = a0; c < a1; c++) {
          const s = A + (<usize>(c - a0) << 3);
          const m = load<f64>(s) / <f64>N;
          const co = <usize>c << 2;
          if (!pass) {
            store<f64>(s, m, CH << 3);
            store<f32>(mean + co, <f32>m);
            store<f32>(runMean + co, <f32>(momentum * <f64>load<f32>(runMean + co) + (1 - momentum) * m));
          } else {
            store<f32>(invstd + co, <f32>(1 / Math.sqrt(m + eps)));
            store<f32>(runVar + co, <f32>(momentum * <f64>load<f32>(runVar + co) + (1 - momentum) * m));
          }
        }
      }
    } else {
      for (let c = a0; c < a1; c++) {
        const co = <usize>c << 2;
        store<f32>(mean + co, load<f32>(runMean + co));
        store<f32>(invstd + co, <f32>(1 / Math.sqrt(<f64>load<f32>(runVar + co) + eps)));
      }
    }
    // out = gamma * ((x - mean) * invstd) + beta
    for (let n = 0; n < N; n++) {
      const x = inp + <usize>n * row, o = out + <usize>n * row;
      let c = a0;
      if (ASC_FEATURE_SIMD) {
        for (; c + 4 <= a1; c += 4) {
          const co = <usize>c << 2;
          const h = f32x4.mul(f32x4.sub(v128.load(x + co), v128.load(mean + co)), v128.load(invstd + co));
          v128.store(o + co, f32x4.add(f32x4.mul(v128.load(gamma + co), h), v128.load(beta + co)));
        }
      }
      for (; c < a1; c++) {
        const co = <usize>c << 2;
        const h = (load<f32>(x + co) - load<f32>(mean + co)) * load<f32>(invstd + co);
        store<f32>(o + co, load<f32>(gamma + co) * h + load<f32>(beta + co));
      }
    }
  }
}

export function batchnorm_backward(dinp: usize, dgamma: usize, dbeta: usize, dout: usize, inp: usize, gamma: usize, mean: usize, invstd: usize, N: i32, C: i32, c0: i32, c1: i32): void {
  assert(N > 0 && 0 <= c0 && c0 <= c1 && c1 <= C, 'batchnorm_backward: bad shape or range');
  checkSpan(dinp, N * C, 4);
  checkSpan(dout, N * C, 4);
  checkSpan(inp, N * C, 4);
  for (let i = 0; i < 5; i++) checkSpan(i == 0 ? dgamma : i == 1 ? dbeta : i == 2 ? gamma : i == 3 ? mean : invstd, C, 4);
  const row = <usize>C << 2;
  const A = scratch() + SCRATCH_WT_AT; // sdy at A, sdx at A + CH * 8
  const nf = <f32>N;
  for (let a0 = c0; a0 < c1; a0 += CH) {
    const a1 = min(c1, a0 + CH);
    memory.fill(A, 0, <usize>CH << 4);
    for (let n = 0; n < N; n++) {
      const x = inp + <usize>n * row, d = dout + <usize>n * row;
      let c = a0;
      if (ASC_FEATURE_SIMD) {
        for (; c + 4 <= a1; c += 4) {
          const co = <usize>c << 2;
          const dv = v128.load(d + co);
          const h = f32x4.mul(f32x4.sub(v128.load(x + co), v128.load(mean + co)), v128.load(invstd + co));
          const dh = f32x4.mul(dv, h); // products in f32, as the scalar loop
          const s = A + (<usize>(c - a0) << 3);
          v128.store(s, f64x2.add(v128.load(s), f64x2.promote_low_f32x4(dv)));
          v128.store(s, f64x2.add(v128.load(s, 16), f64x2.promote_low_f32x4(i32x4.shuffle(dv, dv, 2, 3, 0, 1))), 16);
          v128.store(s, f64x2.add(v128.load(s, CH << 3), f64x2.promote_low_f32x4(dh)), CH << 3);
          v128.store(s, f64x2.add(v128.load(s, (CH << 3) + 16), f64x2.promote_low_f32x4(i32x4.shuffle(dh, dh, 2, 3, 0, 1))), (CH << 3) + 16);
        }
      }
      for (; c < a1; c++) {
        const co = <usize>c << 2;
        const dv = load<f32>(d + co);
        const h = (load<f32>(x + co) - load<f32>(mean + co)) * load<f32>(invstd + co);
        const s = A + (<usize>(c - a0) << 3);
        store<f64>(s, load<f64>(s) + <f64>dv);
        store<f64>(s, load<f64>(s, CH << 3) + <f64>(dv * h), CH << 3);
      }
    }
    // dbeta, dgamma; then the per-channel constants, rounded to f32, over the sums' slots
    for (let c = a0; c < a1; c++) {
      const co = <usize>c << 2, s = A + (<usize>(c - a0) << 3);
      const sdy = <f32>load<f64>(s), sdx = <f32>load<f64>(s, CH << 3);
      store<f32>(dbeta + co, load<f32>(dbeta + co) + sdy);
      store<f32>(dgamma + co, load<f32>(dgamma + co) + sdx);
    }
    for (let n = 0; n < N; n++) {
      const x = inp + <usize>n * row, d = dout + <usize>n * row, o = dinp + <usize>n * row;
      let c = a0;
      if (ASC_FEATURE_SIMD) {
        const nv = f32x4.splat(nf);
        for (; c + 4 <= a1; c += 4) {
          const co = <usize>c << 2, s = A + (<usize>(c - a0) << 3);
          const sdy = f32x4.demote_f64x2_zero(v128.load(s)), sdy2 = f32x4.demote_f64x2_zero(v128.load(s, 16));
          const sdx = f32x4.demote_f64x2_zero(v128.load(s, CH << 3)), sdx2 = f32x4.demote_f64x2_zero(v128.load(s, (CH << 3) + 16));
          const a = i32x4.shuffle(sdy, sdy2, 0, 1, 4, 5), b = i32x4.shuffle(sdx, sdx2, 0, 1, 4, 5);
          const is = v128.load(invstd + co);
          const h = f32x4.mul(f32x4.sub(v128.load(x + co), v128.load(mean + co)), is);
          const k = f32x4.div(f32x4.mul(v128.load(gamma + co), is), nv);
          v128.store(o + co, f32x4.mul(k, f32x4.sub(f32x4.sub(f32x4.mul(nv, v128.load(d + co)), a), f32x4.mul(h, b))));
        }
      }
      for (; c < a1; c++) {
        const co = <usize>c << 2, s = A + (<usize>(c - a0) << 3);
        const a = <f32>load<f64>(s), b = <f32>load<f64>(s, CH << 3);
        const is = load<f32>(invstd + co);
        const h = (load<f32>(x + co) - load<f32>(mean + co)) * is;
        const k = (load<f32>(gamma + co) * is) / nf;
        store<f32>(o + co, k * ((nf * load<f32>(d + co) - a) - h * b));
      }
    }
  }
}
