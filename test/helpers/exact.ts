/** Shared by the bit-exact kernel tests (conv, pool, batch norm): seeded operands, guarded outputs, bit comparison with the first difference. */
import { expect } from 'vitest';
import type { Backend, DType, Tensor } from '../../src/core/backend.js';
import type { Rng } from '../../src/core/rng.js';
import { sameBits } from './bits.js';

/** n values in [-1, 1) rounded to f32, about a fraction `zeros` of them exact zeros */
export function values(rng: Rng, n: number, zeros = 0.5): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.float() < zeros ? 0 : 2 * rng.float() - 1;
  return v;
}

export function put<D extends DType>(be: Backend, dtype: D, v: ArrayLike<number>): Tensor<D> {
  const t = be.alloc(dtype, v.length);
  be.write(t, v);
  return t;
}

/** an output the op must overwrite: NaN (or -1) in it, a guard pad of sentinels after it; guard() asserts the pad is untouched */
export function guarded<D extends DType>(be: Backend, dtype: D, n: number): { t: Tensor<D>; guard: () => void } {
  const whole = be.alloc(dtype, n + 4);
  be.write(whole, new Array(n).fill(dtype === 'f32' ? NaN : -1));
  be.write(whole, [-7, -7, -7, -7], n);
  return { t: be.slice(whole, 0, n), guard: () => expect(Array.from(be.read(be.slice(whole, n, 4))), 'guard pad').toEqual([-7, -7, -7, -7]) };
}

/** bit-identical, or fail with the first differing index and values */
export function expectSame(what: string, got: Float32Array | Int32Array, want: Float32Array | Int32Array): void {
  if (got instanceof Int32Array || want instanceof Int32Array ? got.length === want.length && got.every((v, i) => v === want[i]) : sameBits(got, want)) return;
  let i = 0;
  while (i < got.length && Object.is(got[i], want[i])) i++;
  let maxDiff = 0;
  for (let k = 0; k < Math.min(got.length, want.length); k++) maxDiff = Math.max(maxDiff, Math.abs(got[k] - want[k]));
  expect.fail(`${what}: first difference at ${i} of ${got.length} (want ${want.length}): got ${got[i]}, want ${want[i]} (max |diff| ${maxDiff})`);
}
