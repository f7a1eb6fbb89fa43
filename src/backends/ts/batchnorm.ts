/**
 * The batch-norm ops' TypeScript reference (rules as assembly/batchnorm.ts says): sums in doubles
 * (JS numbers) over the rows in order, the per-element steps rounded to f32, so the WASM builds
 * match it bit for bit.
 */
const f = Math.fround;

/** out (N, C) = gamma * ((x - mean) * invstd) + beta; training: the batch's statistics (saved in mean, invstd) and the running ones updated, else the running ones; channels [c0, c1) */
export function batchnormForwardRef(out: Float32Array, mean: Float32Array, invstd: Float32Array, runMean: Float32Array, runVar: Float32Array, inp: Float32Array, gamma: Float32Array, beta: Float32Array, N: number, C: number, eps: number, momentum: number, training: boolean, c0 = 0, c1 = C): void {
  for (let c = c0; c < c1; c++) {
    if (training) {
      let s = 0;
      for (let n = 0; n < N; n++) s += inp[n * C + c];
      const m = s / N;
      let q = 0;
      for (let n = 0; n < N; n++) q += (inp[n * C + c] - m) * (inp[n * C + c] - m);
      const v = q / N;
      mean[c] = m;
      invstd[c] = 1 / Math.sqrt(v + eps);
      runMean[c] = momentum * runMean[c] + (1 - momentum) * m;
      runVar[c] = momentum * runVar[c] + (1 - momentum) * v;
    } else {
      mean[c] = runMean[c];
      invstd[c] = 1 / Math.sqrt(runVar[c] + eps);
    }
    for (let n = 0; n < N; n++) out[n * C + c] = f(f(gamma[c] * f(f(inp[n * C + c] - mean[c]) * invstd[c])) + beta[c]);
  }
}

/** dinp (N, C) = the gradient through the training forward (overwritten), dgamma, dbeta (C) += theirs; channels [c0, c1) */
export function batchnormBackwardRef(dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array, inp: Float32Array, gamma: Float32Array, mean: Float32Array, invstd: Float32Array, N: number, C: number, c0 = 0, c1 = C): void {
  for (let c = c0; c < c1; c++) {
    const xhat = (n: number) => f(f(inp[n * C + c] - mean[c]) * invstd[c]);
    let sdy = 0, sdx = 0;
    for (let n = 0; n < N; n++) (sdy += dout[n * C + c]), (sdx += f(dout[n * C + c] * xhat(n)));
    const a = f(sdy), b = f(sdx);
    dbeta[c] = f(dbeta[c] + a);
    dgamma[c] = f(dgamma[c] + b);
    const k = f(f(gamma[c] * invstd[c]) / N);
    for (let n = 0; n < N; n++) dinp[n * C + c] = f(k * f(f(f(N * dout[n * C + c]) - a) - f(xhat(n) * b)));
  }
}
