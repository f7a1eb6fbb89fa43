/** The kernel benchmarks' smoke mode, so bench/ never rots: every backend and kernel reports a rate (no timing thresholds). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('bench/kernels.mjs --quick', () => {
  it('runs every kernel on every backend and reports finite GFLOP/s as JSON', () => {
    const r = spawnSync(process.execPath, [new URL('../bench/kernels.mjs', import.meta.url).pathname, '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.environment.node).toBe(process.version);
    for (const backend of ['wasm-simd', 'wasm-scalar', 'ts']) {
      const rows = out.results.filter((x: { backend: string }) => x.backend === backend);
      // wasm-simd adds the machine's f32x4 mul+add peak (bench/peak.ts)
      expect(rows.length, backend).toBe(backend === 'wasm-simd' ? 16 : 15);
      for (const row of rows) expect(row.gflops > 0 && Number.isFinite(row.gflops), `${backend} ${row.kernel}`).toBe(true);
    }
    for (const backend of ['wasm-simd', 'wasm-scalar']) for (const v of Object.values(out.summary[backend])) expect(Number.isFinite(v) && (v as number) > 0).toBe(true);
    expect(out.summary['wasm-simd'].peakGflops > 0).toBe(true);
    // the targets' ratios are also measured in interleaved rounds
    for (const backend of ['wasm-simd', 'wasm-scalar']) for (const k of ['W1 forward / reference (paired)', 'W2 dW / reference (paired)', 'W2 sparse / dense, forward + dW (paired)']) expect(out.summary[backend][k], `${backend} ${k}`).toBeGreaterThan(0);
  });
});

describe('bench/conv-kernels.mjs --quick', () => {
  it('checks every convolution design against the direct kernels and reports a finite rate for each', () => {
    const r = spawnSync(process.execPath, [new URL('../bench/conv-kernels.mjs', import.meta.url).pathname, '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.env.node).toBe(process.version);
    const designs = out.results.map((x: { layer: string; op: string; design: string }) => `${x.layer} ${x.op} ${x.design}`);
    for (const d of ['layer 1 forward im2col', 'layer 2 forward indirect', 'layer 2 forward nchw', 'layer 2 dinput im2col', 'layer 2 dfilter dense']) expect(designs).toContain(d);
    for (const row of out.results) expect(row.gflops > 0 && Number.isFinite(row.gflops), `${row.layer} ${row.op} ${row.design}`).toBe(true);
    expect(out.peakGflops > 0).toBe(true);
  });
});

describe('bench/ts-conv.mjs --quick', () => {
  it('checks the TS fast path against the reference (bits) and TensorFlow.js cpu (tolerance), and reports each op\'s times and ratios', () => {
    const r = spawnSync(process.execPath, [new URL('../bench/ts-conv.mjs', import.meta.url).pathname, '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.env.node).toBe(process.version);
    expect(out.env.tfjsBackend).toBe('cpu');
    const ops = out.rows.map((x: { op: string }) => x.op);
    for (const op of ['layer 1 forward', 'layer 2 input gradient', 'layer 2 filter + bias gradient', 'layer 1 maxpool forward', 'layer 2 maxpool backward']) expect(ops).toContain(op);
    for (const row of out.rows) for (const k of ['fastOverRef', 'fastOverTfjs']) expect(row[k] > 0 && Number.isFinite(row[k]), `${row.op} ${k}`).toBe(true);
  });
});
