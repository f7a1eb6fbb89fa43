/** Augmentation: known transforms give known pixels; every wasm build warps exactly like the TS reference. */
import { describe, expect, it } from 'vitest';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { augmentScratch } from '../src/nn/augment.js';
import { Rng } from '../src/core/rng.js';
import type { Backend } from '../src/core/backend.js';

interface Case { W: number; H: number; images: Uint8Array; idx: number[]; seed: number; stream: number; shift: number; rotate: number; scale: number; alpha: number; sigma: number; params?: number[] }

function run(be: Backend, c: Case): { out: Uint8Array; params: Float32Array } {
  const C = c.W * c.H, B = c.idx.length;
  const sc = augmentScratch(c.W, c.H, c.sigma);
  const src = be.alloc('u8', c.images.length), out = be.alloc('u8', B * C), idx = be.alloc('i32', B);
  const params = be.alloc('f32', B * 4), field = be.alloc('f32', sc.length);
  be.write(src, c.images);
  be.write(idx, c.idx);
  be.write(field, sc.weights);
  if (c.params) be.write(params, c.params);
  be.augment_rows_u8(out, src, idx, params, field, B, c.W, c.H, c.seed, c.stream, c.shift, c.rotate, c.scale, c.alpha, sc.R, !c.params);
  return { out: be.read(out), params: be.read(params) };
}

/** a 28x28 pattern: a bright 'L' and a gradient block */
function pattern(W = 28, H = 28): Uint8Array {
  const img = new Uint8Array(W * H);
  for (let y = 6; y < 22; y++) img[y * W + 8] = 255;
  for (let x = 8; x < 20; x++) img[21 * W + x] = 200;
  for (let y = 4; y < 9; y++) for (let x = 14; x < 20; x++) img[y * W + x] = 10 * (x - 13) + y;
  return img;
}

function randomImages(rng: Rng, n: number, C: number): Uint8Array {
  const a = new Uint8Array(n * C);
  for (let i = 0; i < a.length; i++) a[i] = rng.float() < 0.2 ? Math.floor(rng.float() * 256) : 0;
  return a;
}

describe('augment_rows_u8', () => {
  const img = pattern();
  const fixed = (params: number[], alpha = 0): Case => ({ W: 28, H: 28, images: img, idx: [0], seed: 1, stream: 0, shift: 0, rotate: 0, scale: 0, alpha, sigma: 5, params });

  for (const mk of [async () => new TsBackend() as Backend, () => WasmBackend.create('simd'), () => WasmBackend.create('debug')]) {
    it('identity returns the input; a 2-pixel shift moves every pixel by exactly 2', async () => {
      const be = await mk();
      expect(Array.from(run(be, fixed([0, 0, 0, 1])).out), be.name).toEqual(Array.from(img));
      const shifted = run(be, fixed([2, -2, 0, 1])).out; // right 2, up 2
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const want = x - 2 >= 0 && y + 2 < 28 ? img[(y + 2) * 28 + x - 2] : 0;
        expect(shifted[y * 28 + x], `${be.name} (${x},${y})`).toBe(want);
      }
      // random draws with every range at 0 are the identity too
      expect(Array.from(run(be, { ...fixed([0, 0, 0, 1]), params: undefined }).out)).toEqual(Array.from(img));
    });
  }

  it('scale 2 magnifies about the image centre with bilinear weights', async () => {
    const be = new TsBackend();
    const dot = new Uint8Array(28 * 28);
    dot[14 * 28 + 14] = 255; // one pixel right of the centre (13.5, 13.5) diagonal
    const z = run(be, { ...fixed([0, 0, 0, 2]), images: dot }).out;
    // scale 2: output (x, y) samples (13.5 + (x - 13.5)/2): the source pixel 14 is hit at x = 14.5 -> between 14 and 15
    expect(z[14 * 28 + 14]).toBe(Math.round(255 * 0.75 * 0.75));
    expect(z[15 * 28 + 15]).toBe(Math.round(255 * 0.75 * 0.75));
    expect(z[14 * 28 + 15]).toBe(Math.round(255 * 0.75 * 0.75));
  });

  for (const variant of ['simd', 'scalar', 'debug'] as const) {
    it(`wasm ${variant} gives exactly the TS reference's pixels and parameters`, async () => {
      const w = await WasmBackend.create(variant);
      const rng = new Rng(9);
      const sets = [
        { W: 28, H: 28, shift: 2, rotate: 0.2, scale: 0.1, alpha: 34, sigma: 5 },
        { W: 28, H: 28, shift: 0, rotate: 0, scale: 0, alpha: 36, sigma: 6 },
        { W: 28, H: 28, shift: 3.5, rotate: 0.7, scale: 0.3, alpha: 0, sigma: 4 },
        { W: 13, H: 9, shift: 1, rotate: 0.1, scale: 0.05, alpha: 8, sigma: 2 },
      ];
      for (const [i, p] of sets.entries()) {
        const images = randomImages(rng, 6, p.W * p.H);
        const c: Case = { ...p, images, idx: [5, 0, 3, 3, 1, 2, 4], seed: 7 + i * 1000003, stream: 12345 * i };
        const got = run(w, c), want = run(new TsBackend(), c);
        expect(Array.from(got.params), `${variant} set ${i}`).toEqual(Array.from(want.params));
        expect(Buffer.from(got.out).equals(Buffer.from(want.out)), `${variant} set ${i}`).toBe(true);
      }
    });
  }

  it('different streams and seeds give different warps; the same ones the same', async () => {
    const be = await WasmBackend.create('simd');
    const c: Case = { W: 28, H: 28, images: img, idx: [0, 0], seed: 3, stream: 1, shift: 2, rotate: 0.17, scale: 0.1, alpha: 34, sigma: 5 };
    const a = run(be, c).out, again = run(be, c).out, b = run(be, { ...c, stream: 2 }).out, d = run(be, { ...c, seed: 4 }).out;
    expect(Buffer.from(a).equals(Buffer.from(again))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(d))).toBe(false);
    // two rows of the same image in one batch are warped differently
    expect(Buffer.from(a.subarray(0, 784)).equals(Buffer.from(a.subarray(784)))).toBe(false);
  });
});
