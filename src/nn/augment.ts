/**
 * On-the-fly data augmentation for images: per-row random affine transforms (shift, rotation,
 * scale) and elastic distortions (Simard et al. 2003), applied to training batches only.
 *
 * Here: the options, their check, and the scratch layout the network plans. The kernel is
 * assembly/augment.ts, its reference src/backends/ts/augment.ts.
 */
import { UsageError } from '../core/errors.js';

export interface AugmentOptions {
  /** maximum shift in pixels, each axis uniform in [-shift, shift] (default 2) */
  shift?: number;
  /** maximum rotation in degrees, uniform in [-rotate, rotate] (default 10, at most 45) */
  rotate?: number;
  /** maximum relative scale change, scale uniform in [1 - scale, 1 + scale] (default 0.1, below 1) */
  scale?: number;
  /** elastic distortion strength alpha in pixels (Simard's alpha; default 34, 0 turns it off) */
  elastic?: number;
  /** elastic smoothing: the Gaussian's sigma in pixels (default 5, in [1, 16]) */
  sigma?: number;
}

export type ResolvedAugment = Required<AugmentOptions>;

export const AUGMENT_DEFAULTS: ResolvedAugment = { shift: 2, rotate: 10, scale: 0.1, elastic: 34, sigma: 5 };

/** pixels between points of the coarse grid the elastic field is drawn on */
export const AUGMENT_GRID = 4;

function check(name: string, v: unknown, lo: number, hi: number, flag: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new UsageError(`augmentation ${name} must be a number in [${lo}, ${hi}] (${flag}), got ${String(v)}`);
  }
  return v;
}

/** validate augmentation options (true = the defaults), with one-line errors naming the CLI flag */
export function resolveAugment(a: AugmentOptions | boolean | undefined | null): ResolvedAugment | null {
  if (!a) return null;
  const o = a === true ? {} : a;
  if (typeof o !== 'object') throw new UsageError(`augment must be true or an options object, got ${String(a)}`);
  return {
    shift: check('shift', o.shift ?? AUGMENT_DEFAULTS.shift, 0, 64, '--augment-shift PX'),
    rotate: check('rotation', o.rotate ?? AUGMENT_DEFAULTS.rotate, 0, 45, '--augment-rotate DEG'),
    scale: check('scale', o.scale ?? AUGMENT_DEFAULTS.scale, 0, 0.9, '--augment-scale F'),
    elastic: check('elastic alpha', o.elastic ?? AUGMENT_DEFAULTS.elastic, 0, 1000, '--augment-elastic ALPHA'),
    sigma: check('elastic sigma', o.sigma ?? AUGMENT_DEFAULTS.sigma, 1, 16, '--augment-sigma S'),
  };
}

/** the image width and height of `features` inputs: from imageShape ([H, W] or [H, W, 1]), else a square */
export function imageSize(features: number, imageShape: number[]): { W: number; H: number } {
  if (imageShape.length >= 2 && imageShape[0] * imageShape[1] === features) return { H: imageShape[0], W: imageShape[1] };
  const s = Math.round(Math.sqrt(features));
  if (s * s === features) return { W: s, H: s };
  throw new UsageError(`augmentation needs 2-D images: ${features} inputs with image shape [${imageShape.join(', ')}] is not an image`);
}

/** the elastic field's scratch layout for W x H images: Gaussian weights, radius, f32 count */
export function augmentScratch(W: number, H: number, sigma: number): { R: number; weights: Float32Array; length: number } {
  const g = AUGMENT_GRID;
  const R = Math.max(1, Math.ceil((2.5 * sigma) / g));
  const w = new Float64Array(2 * R + 1);
  let sum = 0;
  for (let k = -R; k <= R; k++) sum += w[k + R] = Math.exp(-((k * g) ** 2) / (2 * sigma * sigma));
  const weights = Float32Array.from(w, (x) => x / sum);
  const GX = ((W - 1) >> 2) + 2, GY = ((H - 1) >> 2) + 2, NX = GX + 2 * R, NY = GY + 2 * R;
  // + a zero-bordered u8 copy of one source image, (W+2)*(H+2) bytes
  return { R, weights, length: 2 * R + 1 + NX * NY + NY * GX + 2 * GX * GY + Math.ceil(((W + 2) * (H + 2)) / 4) };
}
