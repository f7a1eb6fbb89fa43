/** Dropout: every wasm build drops exactly the units the TS reference drops; inverted scaling; backward uses the same mask. */
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { Rng } from '../src/core/rng.js';
import type { Backend } from '../src/core/backend.js';

function run(be: Backend, x: Float32Array, d: Float32Array, p: number, seed: number, stream: number) {
  const inp = be.alloc('f32', x.length), out = be.alloc('f32', x.length), dout = be.alloc('f32', x.length), dinp = be.alloc('f32', x.length);
  be.write(inp, x);
  be.write(dout, d);
  be.fill(out, x.length, NaN);
  be.fill(dinp, x.length, NaN);
  be.dropout_forward(out, inp, x.length, p, seed, stream);
  be.dropout_backward(dinp, dout, x.length, p, seed, stream);
  return { out: be.read(out), dinp: be.read(dinp) };
}

describe('dropout', () => {
  it('TS: inverted scaling, the rate is respected, backward reuses the forward mask, streams differ', () => {
    const rng = new Rng(3);
    const N = 20000, x = Float32Array.from({ length: N }, () => rng.float() + 0.5), d = Float32Array.from({ length: N }, () => rng.float() + 0.5);
    for (const p of [0, 0.2, 0.5, 0.9]) {
      const r = run(new TsBackend(), x, d, p, 7, 11);
      let kept = 0;
      for (let i = 0; i < N; i++) {
        if (r.out[i] !== 0) {
          kept++;
          expect(r.out[i]).toBeCloseTo(x[i] / (1 - p), 4);
          expect(r.dinp[i]).toBeCloseTo(d[i] / (1 - p), 4);
        } else expect(r.dinp[i]).toBe(0);
      }
      expect(Math.abs(kept / N - (1 - p))).toBeLessThan(0.02);
    }
    const a = run(new TsBackend(), x, d, 0.5, 7, 11).out, b = run(new TsBackend(), x, d, 0.5, 7, 12).out, c = run(new TsBackend(), x, d, 0.5, 8, 11).out;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(false);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  for (const variant of ['simd', 'scalar', 'debug'] as const) {
    it(`wasm ${variant} drops exactly the units TS drops`, async () => {
      const w = await WasmBackend.create(variant);
      const rng = new Rng(5);
      // lengths around the SIMD build's 4 lanes, and values whose dropped and kept forms differ in sign and NaN
      for (const N of [1, 3, 4, 5, 17, 1000, 1027, 4099]) {
        const x = Float32Array.from({ length: N }, () => rng.float() * 2 - 1), d = Float32Array.from({ length: N }, () => rng.float() * 2 - 1);
        for (let i = 0; i < N; i += 7) x[i] = [NaN, -0, -Infinity, Infinity, -3e38][(i / 7) % 5];
        for (const [p, seed, stream] of [[0.3, 1, 0], [0.5, 4294967295, 123456], [0.1, 99, 2 ** 31 + 5]]) {
          const got = run(w, x, d, p, seed, stream), want = run(new TsBackend(), x, d, p, seed, stream);
          expect(Array.from(got.out), `${variant} N=${N} p=${p}`).toEqual(Array.from(want.out));
          expect(Array.from(got.dinp), `${variant} N=${N} p=${p}`).toEqual(Array.from(want.dinp));
        }
      }
    });
  }
});
