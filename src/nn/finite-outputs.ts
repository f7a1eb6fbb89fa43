/**
 * Does a model give finite outputs on real inputs? Every model simdnet saves, loads or imports must.
 *
 * Real inputs are images of u8 pixels: each input is in [0, 255 * inputScale]. The check is pure
 * (no backend, no Node), in float64 over the weights:
 *   1. interval bounds: each layer's pre-activation range over that whole box of inputs (exact for
 *      the first layer, an over-estimate after it), through the monotone activations. When every
 *      bound stays within float32, no image can overflow: the model is accepted (the usual case,
 *      one pass over the weights).
 *   2. otherwise the bounds prove nothing (they grow with depth for ReLU networks), so the model runs
 *      on witness images: blank, all-255, the two images that drive the most extreme first-layer
 *      unit up and down, and 8 seeded random images. A witness whose outputs are not finite is an
 *      image on which the model fails: the model is refused, naming it.
 * Float32 is what the kernels compute in: a sum or activation beyond its range (3.4e38) is Inf, and
 * softmax or the loss of an Inf is NaN.
 */
import type { ActivationName } from '../core/backend.js';
import { Rng } from '../core/rng.js';

export interface WeightsOnly {
  layers: number[];
  /** one per layer (the last 'linear') */
  activations: readonly ActivationName[];
  inputScale: number;
  weights: readonly { W: ArrayLike<number>; b: ArrayLike<number> }[];
}

const F32_MAX = 3.4028234663852886e38;

function act(a: ActivationName, z: number): number {
  switch (a) {
    case 'relu': return z > 0 ? z : 0;
    case 'sigmoid': return 1 / (1 + Math.exp(-z));
    case 'tanh': return Math.tanh(z);
    default: return z;
  }
}

/** true when every layer's pre-activations stay within float32 for every input in the box */
function boundsFinite(m: WeightsOnly): { ok: boolean; unit: number } {
  let lo = new Float64Array(m.layers[0]), hi = new Float64Array(m.layers[0]).fill(255 * m.inputScale);
  let extreme = 0, unit = 0;
  for (let l = 0; l + 1 < m.layers.length; l++) {
    const I = m.layers[l], O = m.layers[l + 1], { W, b } = m.weights[l];
    const nlo = new Float64Array(O), nhi = new Float64Array(O);
    for (let o = 0; o < O; o++) { nlo[o] = b[o]; nhi[o] = b[o]; }
    for (let i = 0; i < I; i++) {
      const a = lo[i], c = hi[i];
      for (let o = 0; o < O; o++) {
        const w = W[i * O + o];
        if (w >= 0) { nlo[o] += w * a; nhi[o] += w * c; } else { nlo[o] += w * c; nhi[o] += w * a; }
      }
    }
    for (let o = 0; o < O; o++) {
      const big = Math.max(Math.abs(nlo[o]), Math.abs(nhi[o]));
      if (l === 0 && big > extreme) { extreme = big; unit = o; }
      if (!(big <= F32_MAX)) return { ok: false, unit };
      nlo[o] = act(m.activations[l], nlo[o]);
      nhi[o] = act(m.activations[l], nhi[o]);
    }
    lo = nlo;
    hi = nhi;
  }
  return { ok: true, unit };
}

/** the forward pass of one image in float64, rounded to float32 after each layer; false when something is not finite */
function forwardFinite(m: WeightsOnly, pixels: Uint8Array): boolean {
  let x = Float64Array.from(pixels, (p) => Math.fround(p * m.inputScale));
  for (let l = 0; l + 1 < m.layers.length; l++) {
    const I = m.layers[l], O = m.layers[l + 1], { W, b } = m.weights[l];
    const z = new Float64Array(O);
    for (let o = 0; o < O; o++) z[o] = b[o];
    for (let i = 0; i < I; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      for (let o = 0; o < O; o++) z[o] += W[i * O + o] * xi;
    }
    for (let o = 0; o < O; o++) {
      const v = Math.fround(act(m.activations[l], Math.fround(z[o])));
      if (!Number.isFinite(v)) return false;
      z[o] = v;
    }
    x = z;
  }
  return true;
}

/**
 * null when the model gives finite outputs on real inputs (see the file comment), else a phrase
 * naming an image on which it does not, e.g. 'an all-255 image'
 */
export function overflowWitness(m: WeightsOnly): string | null {
  const { ok, unit } = boundsFinite(m);
  if (ok) return null;
  const n = m.layers[0], O = m.layers[1], W0 = m.weights[0].W;
  const [blank, full, ...random] = witnessImages(n);
  const witnesses: [string, Uint8Array][] = [
    blank,
    full,
    [`the image that drives first-layer unit ${unit + 1} up`, Uint8Array.from({ length: n }, (_, i) => (W0[i * O + unit] > 0 ? 255 : 0))],
    [`the image that drives first-layer unit ${unit + 1} down`, Uint8Array.from({ length: n }, (_, i) => (W0[i * O + unit] < 0 ? 255 : 0))],
    ...random,
  ];
  for (const [name, img] of witnesses) if (!forwardFinite(m, img)) return name;
  return null;
}

/** images of `n` u8 pixels to try a model on, named for messages: blank, all-255 and 8 seeded random ones */
export function witnessImages(n: number): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [['a blank (all-0) image', new Uint8Array(n)], ['an all-255 image', new Uint8Array(n).fill(255)]];
  const rng = new Rng(0x0f1417e);
  for (let k = 1; k <= 8; k++) out.push([`random image ${k} (seeded)`, Uint8Array.from({ length: n }, () => rng.int(256))]);
  return out;
}

/**
 * the check for a network that is not a stack of dense layers (a CNN), whose interval bounds this file
 * does not compute: the model itself, in evaluation mode, on the witness images (and `extra` ones,
 * e.g. real training images); null when every output is finite, else the first image's name
 */
export function predictWitness(predict: (images: Uint8Array, count: number) => Float32Array, inputs: number, extra: [string, Uint8Array][] = []): string | null {
  const witnesses = [...witnessImages(inputs), ...extra];
  const images = new Uint8Array(witnesses.length * inputs);
  witnesses.forEach(([, img], k) => images.set(img, k * inputs));
  const out = predict(images, witnesses.length);
  const per = out.length / witnesses.length;
  for (let k = 0; k < witnesses.length; k++) {
    for (let j = k * per; j < (k + 1) * per; j++) if (!Number.isFinite(out[j])) return witnesses[k][0];
  }
  return null;
}

/** the one line for a model whose outputs overflow (`largest`: its largest weight in absolute value) */
export const overflowMessage = (witness: string, largest: number): string =>
  `the model's outputs overflow float32 (Inf/NaN) on ${witness} (largest weight ${largest.toExponential(2)}): it cannot predict; use a model whose outputs are finite (a diverged run saves its last weights that are)`;

/** the largest weight or bias in absolute value, for messages */
export function largestWeight(weights: readonly { W: ArrayLike<number>; b: ArrayLike<number> }[]): number {
  let m = 0;
  for (const { W, b } of weights) for (const a of [W, b]) for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
