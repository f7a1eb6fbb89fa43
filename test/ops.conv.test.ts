/**
 * Convolution conformance: the TS backend's fast path (src/backends/ts/conv.ts) and every WASM build (simd, scalar,
 * debug, and threads: a team of 2) against the plain TS reference (src/backends/ts/conv-reference.ts) on awkward shapes sampled from kernels 1x1, 3x3, 5x5, 2x3; strides 1
 * and 2; 'same' and 'valid'; sizes 1, 2, 5, 7, 13, 28; channels 1, 3, 5, 17, 32, 64; batches 1 to
 * 129. Half of the inputs are exact zeros, and 85% or 20% of the output gradients (the kernels
 * skip zeros; the filter gradient takes its scatter form when most are zero, else its tile form).
 *
 * What is promised (assembly/conv.ts): every output is one sum in a fixed order with each product
 * rounded to f32, so all builds equal the reference BIT FOR BIT (with finite weights and no -0
 * start), and a range split (batch rows, output channels) equals the whole call bit for bit. The
 * fast TS path equals the reference also with infinite or NaN operands and -0 starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Activation, conv2dShape, type Backend } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { expectSame, guarded, put, values } from './helpers/exact.js';
import { ReferenceBackend } from './helpers/reference-backend.js';
import { Rng } from '../src/core/rng.js';

/** blank: the inputs are exact zeros outside the middle half of each image (rows and columns), as MNIST's borders */
interface Shape { B: number; H: number; W: number; C: number; OC: number; KH: number; KW: number; S: number; same: boolean; blank?: boolean }
const label = (s: Shape) => `B=${s.B} ${s.H}x${s.W}x${s.C} -> ${s.KH}x${s.KW}x${s.OC} s${s.S} ${s.same ? 'same' : 'valid'}`;

const KERNELS = [[1, 1], [3, 3], [5, 5], [2, 3]];
const SIZES = [1, 2, 5, 7, 13, 28];
const CHANNELS = [1, 3, 5, 17, 32, 64];
const BATCHES = [1, 2, 3, 5, 8, 129];
/** the reference's multiply-adds per case at most (keeps the file a few seconds) */
const MAX_WORK = 3e6;

/** the cross product sampled: every kernel x stride x padding, each with seeded sizes, channels and batches that fit the budget */
function sampleShapes(): Shape[] {
  const rng = new Rng(22);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rng.float() * xs.length)];
  const shapes: Shape[] = [
    // the Keras mnist_convnet layers, small batches, and a batch past 128
    { B: 2, H: 28, W: 28, C: 1, OC: 32, KH: 3, KW: 3, S: 1, same: false },
    { B: 2, H: 13, W: 13, C: 32, OC: 64, KH: 3, KW: 3, S: 1, same: false },
    // the first layer's zero-patch test (blank borders), with 'same' padding and channels past the last 8
    { B: 5, H: 28, W: 28, C: 1, OC: 32, KH: 3, KW: 3, S: 1, same: false, blank: true },
    { B: 3, H: 13, W: 11, C: 3, OC: 13, KH: 3, KW: 2, S: 1, same: true, blank: true },
    { B: 129, H: 5, W: 5, C: 3, OC: 5, KH: 3, KW: 3, S: 1, same: true },
    { B: 1, H: 1, W: 1, C: 1, OC: 1, KH: 1, KW: 1, S: 1, same: false },
    { B: 3, H: 7, W: 7, C: 17, OC: 17, KH: 5, KW: 5, S: 2, same: true },
    // uneven splits between threads: batch 1, 3 and 129; input channels 1, 5 and 17, whose filter
    // gradient rows (taps x input channels) split inside a tap
    { B: 1, H: 28, W: 28, C: 1, OC: 32, KH: 3, KW: 3, S: 1, same: false },
    { B: 3, H: 13, W: 13, C: 5, OC: 17, KH: 3, KW: 3, S: 1, same: false },
    { B: 129, H: 7, W: 7, C: 17, OC: 5, KH: 3, KW: 3, S: 1, same: false },
    // past the scratch's blocks: the filter gradient's transposed block (5 x 5 x 64 x 130 floats) and
    // the non-zero lists (8,200 channels) are taken in parts
    { B: 1, H: 5, W: 5, C: 64, OC: 130, KH: 5, KW: 5, S: 1, same: true },
    { B: 2, H: 2, W: 3, C: 4, OC: 8200, KH: 1, KW: 2, S: 1, same: false },
  ];
  for (const [KH, KW] of KERNELS) {
    for (const S of [1, 2]) {
      for (const same of [false, true]) {
        for (let n = 0; n < 4; ) {
          const s: Shape = { B: pick(BATCHES), H: pick(SIZES), W: pick(SIZES), C: pick(CHANNELS), OC: pick(CHANNELS), KH, KW, S, same };
          const { OH, OW } = conv2dShape(s.H, s.W, KH, KW, S, same);
          if (OH < 1 || OW < 1 || s.B * OH * OW * s.OC * KH * KW * s.C > MAX_WORK) continue;
          shapes.push(s);
          n++;
        }
      }
    }
  }
  return shapes;
}
const SHAPES = sampleShapes();

/** a case's inputs and the reference's outputs (computed once, shared by the builds) */
interface Case { s: Shape; act: number; inp: Float32Array; weight: Float32Array; bias: Float32Array | null; dout: Float32Array; dw0: Float32Array; db0: Float32Array; out: Float32Array; dinp: Float32Array; dweight: Float32Array; dbias: Float32Array }

function reference(s: Shape, seed: number): Case {
  const rng = new Rng(seed);
  const { OH, OW } = conv2dShape(s.H, s.W, s.KH, s.KW, s.S, s.same);
  const nIn = s.B * s.H * s.W * s.C, nOut = s.B * OH * OW * s.OC, nW = s.KH * s.KW * s.C * s.OC;
  const c: Omit<Case, 'out' | 'dinp' | 'dweight' | 'dbias'> = { s, act: seed % 4 < 2 ? Activation.relu : Activation.linear, inp: values(rng, nIn), weight: values(rng, nW, 0), bias: seed % 3 ? values(rng, s.OC, 0) : null, dout: values(rng, nOut, seed % 2 || s.OC > 100 ? 0.85 : 0.2), dw0: values(rng, nW, 0), db0: values(rng, s.OC, 0) };
  if (s.blank) {
    const inside = (i: number, n: number) => i >= n >> 2 && i < n - (n >> 2);
    for (let p = 0; p < s.B * s.H * s.W; p++) if (!inside(Math.floor(p / s.W) % s.H, s.H) || !inside(p % s.W, s.W)) c.inp.fill(0, p * s.C, (p + 1) * s.C);
  }
  const r = run(new ReferenceBackend(), c);
  return { ...c, ...r };
}

/** the three ops on one backend; overwritten outputs start as NaN with a guard pad of sentinels after them */
function run(be: Backend, c: Omit<Case, 'out' | 'dinp' | 'dweight' | 'dbias'>, split?: number): { out: Float32Array; dinp: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  const { B, H, W, C, OC, KH, KW, S, same } = c.s;
  const m = be.mark();
  try {
    const inp = put(be, 'f32', c.inp), weight = put(be, 'f32', c.weight), bias = c.bias && put(be, 'f32', c.bias), dout = put(be, 'f32', c.dout);
    const dweight = put(be, 'f32', c.dw0), dbias = put(be, 'f32', c.db0);
    const out = guarded(be, 'f32', c.dout.length), dinp = guarded(be, 'f32', c.inp.length);
    const weightT = be.alloc('f32', c.weight.length);
    be.conv2d_filter_transpose(weightT, weight, KH, KW, C, OC);
    if (split === undefined) {
      be.conv2d_forward(out.t, inp, weight, bias, B, H, W, C, OC, KH, KW, S, same, c.act);
      be.conv2d_backward_input(dinp.t, dout, weightT, B, H, W, C, OC, KH, KW, S, same);
      be.conv2d_backward_filter(dweight, dbias, dout, inp, B, H, W, C, OC, KH, KW, S, same);
    } else {
      const b = Math.round(split * B), o = Math.round(split * OC);
      be.conv2d_forward(out.t, inp, weight, bias, B, H, W, C, OC, KH, KW, S, same, c.act, b, B);
      be.conv2d_forward(out.t, inp, weight, bias, B, H, W, C, OC, KH, KW, S, same, c.act, 0, b);
      be.conv2d_backward_input(dinp.t, dout, weightT, B, H, W, C, OC, KH, KW, S, same, b, B);
      be.conv2d_backward_input(dinp.t, dout, weightT, B, H, W, C, OC, KH, KW, S, same, 0, b);
      be.conv2d_backward_filter(dweight, dbias, dout, inp, B, H, W, C, OC, KH, KW, S, same, o, OC);
      be.conv2d_backward_filter(dweight, null, dout, inp, B, H, W, C, OC, KH, KW, S, same, 0, o);
      be.conv2d_backward_filter(be.alloc('f32', c.weight.length), dbias, dout, inp, B, H, W, C, OC, KH, KW, S, same, 0, o);
    }
    out.guard();
    dinp.guard();
    return { out: be.read(out.t), dinp: be.read(dinp.t), dweight: be.read(dweight), dbias: be.read(dbias) };
  } finally {
    be.release(m);
  }
}

const cases = new Map<number, Case>();
const caseOf = (i: number) => cases.get(i) ?? cases.set(i, reference(SHAPES[i], 1000 + i)).get(i)!;

describe.each(['ts', 'simd', 'scalar', 'debug', 'threads'] as const)('conv2d kernels, %s', (variant) => {
  let w: TsBackend | WasmBackend;
  beforeAll(async () => {
    // 'ts': the TS backend's fast path; 'threads': the shared-memory build with a team of 2, whose ops split their ranges between the threads
    w = variant === 'ts' ? new TsBackend() : variant === 'threads' ? await WasmBackend.createThreaded(2) : await WasmBackend.create(variant);
  });
  afterAll(() => {
    if (w instanceof WasmBackend) w.close();
  });

  it(`forward, input gradient, filter and bias gradients equal the TS reference bit for bit (${SHAPES.length} shapes)`, () => {
    for (let i = 0; i < SHAPES.length; i++) {
      const c = caseOf(i), got = run(w, c);
      for (const k of ['out', 'dinp', 'dweight', 'dbias'] as const) expectSame(`${label(c.s)} ${k}`, got[k], c[k]);
    }
  });

  it('a range split in two (batch rows; output channels) equals the whole call bit for bit', () => {
    for (let i = 0; i < SHAPES.length; i += 3) {
      const c = caseOf(i), got = run(w, c, 0.4);
      for (const k of ['out', 'dinp', 'dweight', 'dbias'] as const) expectSame(`${label(c.s)} ${k} (split)`, got[k], c[k]);
    }
  });

  it.runIf(variant !== 'ts')('refuses a kernel that does not fit, a range outside the call and a short tensor, with a RangeError', () => {
    const t = w.alloc('f32', 64);
    expect(() => w.conv2d_forward(t, t, t, null, 1, 2, 2, 1, 1, 3, 3, 1, false, 0)).toThrow(/does not fit a 2x2 input/);
    expect(() => w.conv2d_forward(t, t, t, null, 1, 4, 4, 1, 1, 3, 3, 1, false, 0, 0, 2)).toThrow(/range \[0, 2\) outside \[0, 1\)/);
    expect(() => w.conv2d_forward(t, t, t, null, 1, 4, 4, 1, 1, 3, 3, 1, false, Activation.sigmoid)).toThrow(/activation code 1 is not linear \(0\) or relu \(2\)/);
    expect(() => w.conv2d_backward_filter(t, null, t, t, 2, 8, 8, 1, 2, 3, 3, 1, true)).toThrow(/tensor of 64 elements where 256 are needed/);
  });
});

describe('conv2d kernels, ts fast path where skipping a zero would not be exact', () => {
  // infinite and NaN weights, inputs and gradients make 0 x Inf = NaN products, and -0 biases and
  // gradient starts make -0 + 0 = +0: the fast path must still give the reference's bits
  type Operands = { inp: Float32Array; weight: Float32Array; bias: Float32Array; dout: Float32Array; dw0: Float32Array; db0: Float32Array; s: Shape };
  const poison = (k: Exclude<keyof Operands, 's'>, xs: number[]) => (c: Operands, rng: Rng) => {
    for (const x of xs) c[k][Math.floor(rng.float() * c[k].length)] = x;
  };
  it.each([
    ['an infinite weight', poison('weight', [Infinity])],
    ['a NaN weight', poison('weight', [NaN])],
    ['-0 biases', poison('bias', [-0, -0, -0])],
    ['infinite and NaN inputs', poison('inp', [Infinity, -Infinity, NaN])],
    ['infinite and NaN output gradients', poison('dout', [Infinity, NaN, -Infinity])],
    // every sum from -0, and an output channel whose gradients are all zero: its sums stay -0 only if the zero products are skipped
    ['-0 filter and bias gradient starts', (c: Operands) => {
      c.dw0.fill(-0);
      c.db0.fill(-0);
      for (let p = 0; p < c.dout.length; p += c.s.OC) c.dout[p] = 0;
    }],
  ] as const)('%s', (_, spoil) => {
    for (const i of [0, 1, 2, 4, 12]) {
      const rng = new Rng(77 + i), base = caseOf(i);
      const c = { ...base, inp: base.inp.slice(), weight: base.weight.slice(), bias: base.bias ? base.bias.slice() : values(rng, base.s.OC, 0), dout: base.dout.slice(), dw0: base.dw0.slice(), db0: base.db0.slice() };
      spoil(c, rng);
      const want = run(new ReferenceBackend(), c), got = run(new TsBackend(), c);
      for (const k of ['out', 'dinp', 'dweight', 'dbias'] as const) expectSame(`${label(c.s)} ${k}`, got[k], want[k]);
    }
  });
});

describe('conv2d reference', () => {
  it('the shape rule is TensorFlow\'s', () => {
    expect(conv2dShape(28, 28, 3, 3, 1, false)).toEqual({ OH: 26, OW: 26, PT: 0, PL: 0 });
    expect(conv2dShape(13, 13, 3, 3, 1, false)).toEqual({ OH: 11, OW: 11, PT: 0, PL: 0 });
    expect(conv2dShape(5, 6, 3, 2, 2, true)).toEqual({ OH: 3, OW: 3, PT: 1, PL: 0 });
    expect(conv2dShape(7, 7, 5, 5, 1, true)).toEqual({ OH: 7, OW: 7, PT: 2, PL: 2 });
  });

  it('forward equals an independent im2col + product in doubles (to f32 rounding)', () => {
    for (const i of [0, 1, 2, 4, 7, 12]) {
      const c = caseOf(i), { B, H, W, C, OC, KH, KW, S, same } = c.s;
      const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
      let worst = 0;
      for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        // the patch, zeros in the padding, as (kh, kw, c)
        const patch: number[] = [];
        for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let ch = 0; ch < C; ch++) {
          const ih = oh * S + kh - PT, iw = ow * S + kw - PL;
          patch.push(ih < 0 || iw < 0 || ih >= H || iw >= W ? 0 : c.inp[((b * H + ih) * W + iw) * C + ch]);
        }
        for (let j = 0; j < OC; j++) {
          let s = c.bias ? c.bias[j] : 0, mag = Math.abs(s);
          for (let k = 0; k < patch.length; k++) (s += patch[k] * c.weight[k * OC + j]), (mag += Math.abs(patch[k] * c.weight[k * OC + j]));
          const want = c.act === Activation.relu ? Math.max(s, 0) : s; // ReLU moves no value further from another
          const err = Math.abs(c.out[((b * OH + oh) * OW + ow) * OC + j] - want);
          worst = Math.max(worst, err === 0 ? 0 : err / (mag * 2 ** -24 * (patch.length + 1)));
        }
      }
      expect(worst, label(c.s)).toBeLessThanOrEqual(1);
    }
  });
});
