/**
 * Pooling conformance: the TS backend's fast max-pooling (src/backends/ts/pool.ts) and every WASM build (simd, scalar,
 * debug, and threads: a team of 2) against the plain TS reference (src/backends/ts/pool-reference.ts), bit for bit (assembly/pool.ts: every value rounded to f32 in one
 * order), on sampled windows 1, 2, 3 and strides 1, 2, 3; 'same' and 'valid'; sizes 1, 2, 5, 7,
 * 13, 28; channels 1, 3, 5, 17, 32, 64; batches 1 to 129. Max-pool inputs are drawn from a few
 * values (ties: the first maximum wins) with NaN and -Infinity among them, gradients with -0 and NaN
 * among them; a range split in two equals the whole call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2dShape, type Backend } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { Rng } from '../src/core/rng.js';
import { expectSame, guarded, put, values } from './helpers/exact.js';
import { ReferenceBackend } from './helpers/reference-backend.js';

interface Shape { B: number; H: number; W: number; C: number; K: number; S: number; same: boolean }
const label = (s: Shape) => `B=${s.B} ${s.H}x${s.W}x${s.C} pool ${s.K} s${s.S} ${s.same ? 'same' : 'valid'}`;

function sampleShapes(): Shape[] {
  const rng = new Rng(2201);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rng.float() * xs.length)];
  const shapes: Shape[] = [
    { B: 3, H: 26, W: 26, C: 32, K: 2, S: 2, same: false },
    { B: 2, H: 11, W: 11, C: 64, K: 2, S: 2, same: false },
    { B: 129, H: 5, W: 5, C: 3, K: 3, S: 1, same: true },
    { B: 8, H: 28, W: 28, C: 16, K: 2, S: 2, same: false }, // past the threads' split size
    // uneven splits between threads (batch 1, 129; channels 1, 5, 17) and windows past the image's edge
    { B: 1, H: 26, W: 26, C: 32, K: 2, S: 2, same: false },
    { B: 129, H: 11, W: 11, C: 5, K: 2, S: 2, same: false },
    { B: 129, H: 7, W: 7, C: 17, K: 2, S: 2, same: true },
    { B: 129, H: 28, W: 28, C: 1, K: 2, S: 2, same: false },
  ];
  for (const K of [1, 2, 3]) for (const S of [1, 2, 3]) for (const same of [false, true]) {
    for (let n = 0; n < 3; ) {
      const s = { B: pick([1, 2, 5, 17, 129]), H: pick([1, 2, 5, 7, 13, 28]), W: pick([1, 2, 5, 7, 13, 28]), C: pick([1, 3, 5, 17, 32, 64]), K, S, same };
      const { OH, OW } = conv2dShape(s.H, s.W, K, K, S, same);
      if (OH < 1 || OW < 1 || s.B * s.H * s.W * s.C > 4e5) continue;
      shapes.push(s);
      n++;
    }
  }
  return shapes;
}
const SHAPES = sampleShapes();

interface Result { maxOut: Float32Array; argmax: Int32Array; maxDinp: Float32Array; avgOut: Float32Array; avgDinp: Float32Array; gOut: Float32Array; gDinp: Float32Array }

function run(be: Backend, s: Shape, seed: number, split?: number): Result {
  const { B, H, W, C, K, S, same } = s;
  const { OH, OW } = conv2dShape(H, W, K, K, S, same);
  const rng = new Rng(seed);
  const nIn = B * H * W * C, nOut = B * OH * OW * C;
  const tieValues = [0.5, -0.25, 0.5, 1, -Infinity, NaN, 1, 0];
  const xs = Float32Array.from({ length: nIn }, () => tieValues[Math.floor(rng.float() * (rng.float() < 0.02 ? 8 : 4))] * (rng.float() < 0.5 ? 1 : 2 * rng.float()));
  const smooth = values(rng, nIn, 0.2);
  const dout = values(rng, nOut), gd = values(rng, B * C, 0.2);
  // some gradients -0 and NaN: max-pooling's backward adds every gradient, zeros too (a -0 leaves +0)
  for (let i = 3; i < nOut; i += 17) dout[i] = i % 2 ? -0 : NaN;
  const m = be.mark();
  try {
    const x = put(be, 'f32', xs), xs2 = put(be, 'f32', smooth), d = put(be, 'f32', dout), g = put(be, 'f32', gd);
    const mo = guarded(be, 'f32', nOut), am = guarded(be, 'i32', nOut), md = guarded(be, 'f32', nIn), ao = guarded(be, 'f32', nOut), ad = guarded(be, 'f32', nIn), go = guarded(be, 'f32', B * C), gdi = guarded(be, 'f32', nIn);
    const parts = split === undefined ? [[0, B]] : [[Math.round(split * B), B], [0, Math.round(split * B)]];
    for (const [b0, b1] of parts) {
      be.maxpool2d_forward(mo.t, am.t, x, B, H, W, C, K, S, same, b0, b1);
      be.avgpool2d_forward(ao.t, xs2, B, H, W, C, K, S, same, b0, b1);
      be.global_avgpool_forward(go.t, xs2, B, H * W, C, b0, b1);
    }
    for (const [b0, b1] of parts) {
      be.maxpool2d_backward(md.t, d, am.t, B, H, W, C, K, S, same, b0, b1);
      be.avgpool2d_backward(ad.t, d, B, H, W, C, K, S, same, b0, b1);
      be.global_avgpool_backward(gdi.t, g, B, H * W, C, b0, b1);
    }
    for (const o of [mo, am, md, ao, ad, go, gdi]) o.guard();
    return { maxOut: be.read(mo.t), argmax: be.read(am.t), maxDinp: be.read(md.t), avgOut: be.read(ao.t), avgDinp: be.read(ad.t), gOut: be.read(go.t), gDinp: be.read(gdi.t) };
  } finally {
    be.release(m);
  }
}

const refs = new Map<number, Result>();
const refOf = (i: number) => refs.get(i) ?? refs.set(i, run(new ReferenceBackend(), SHAPES[i], 500 + i)).get(i)!;

describe.each(['ts', 'simd', 'scalar', 'debug', 'threads'] as const)('pooling kernels, %s', (variant) => {
  let w: TsBackend | WasmBackend;
  beforeAll(async () => {
    // 'ts': the TS backend's fast path; 'threads': the shared-memory build with a team of 2, whose ops split their ranges between the threads
    w = variant === 'ts' ? new TsBackend() : variant === 'threads' ? await WasmBackend.createThreaded(2) : await WasmBackend.create(variant);
  });
  afterAll(() => {
    if (w instanceof WasmBackend) w.close();
  });

  it(`max, average and global average pooling, forward and backward, equal the TS reference bit for bit (${SHAPES.length} shapes)`, () => {
    for (let i = 0; i < SHAPES.length; i++) {
      const want = refOf(i), got = run(w, SHAPES[i], 500 + i);
      for (const k of Object.keys(want) as (keyof Result)[]) expectSame(`${label(SHAPES[i])} ${k}`, got[k], want[k]);
    }
  });

  it('a split of the batch in two equals the whole call bit for bit', () => {
    for (let i = 0; i < SHAPES.length; i += 4) {
      const want = refOf(i), got = run(w, SHAPES[i], 500 + i, 0.4);
      for (const k of Object.keys(want) as (keyof Result)[]) expectSame(`${label(SHAPES[i])} ${k} (split)`, got[k], want[k]);
    }
  });

  it.runIf(variant !== 'ts')('refuses a window that does not fit and a range outside the batch', () => {
    const t = w.alloc('f32', 64), a = w.alloc('i32', 64);
    expect(() => w.maxpool2d_forward(t, a, t, 1, 1, 1, 1, 2, 2, false)).toThrow(/does not fit a 1x1 input/);
    expect(() => w.avgpool2d_forward(t, t, 2, 4, 4, 1, 2, 2, false, 1, 3)).toThrow(/range \[1, 3\) outside \[0, 2\)/);
  });
});

describe('pooling reference', () => {
  it('max-pool picks the first maximum and its index; average divides by the window inside the input', () => {
    const be = new ReferenceBackend();
    // one 3x3 image, one channel, window 2, stride 2, 'same': windows clipped at the bottom and right
    const x = put(be, 'f32', [1, 3, 2, 3, 0, 5, -1, -2, 4]);
    const out = be.alloc('f32', 4), am = be.alloc('i32', 4), avg = be.alloc('f32', 4);
    be.maxpool2d_forward(out, am, x, 1, 3, 3, 1, 2, 2, true);
    be.avgpool2d_forward(avg, x, 1, 3, 3, 1, 2, 2, true);
    expect(Array.from(be.read(out))).toEqual([3, 5, -1, 4]);
    expect(Array.from(be.read(am))).toEqual([1, 5, 6, 8]);
    expect(Array.from(be.read(avg))).toEqual([7 / 4, 3.5, -1.5, 4].map(Math.fround));
  });
});
