import { describe, expect, it } from 'vitest';
import { splitValidation } from '../src/train/split.js';

const N = 103, F = 3;
const data = { images: new Uint8Array(N * F).map((_, i) => Math.floor(i / F) & 255), labels: new Uint8Array(N).map((_, i) => i % 10), count: N, features: F };

describe('splitValidation', () => {
  it('holds out round(N*f) disjoint samples, covering all, rows intact', () => {
    const { train, validation } = splitValidation(data, 0.2, 7);
    expect(validation.count).toBe(21);
    expect(train.count).toBe(82);
    const ids = [...validation.images.filter((_, i) => i % F === 0), ...train.images.filter((_, i) => i % F === 0)];
    expect(new Set(ids).size).toBe(N);
    for (const d of [train, validation]) for (let k = 0; k < d.count; k++) {
      const id = d.images[k * F];
      expect(d.images[k * F + 2]).toBe(id);
      expect(d.labels[k]).toBe(id % 10);
    }
  });
  it('is the same for the same seed and differs for another', () => {
    const a = splitValidation(data, 0.2, 7), b = splitValidation(data, 0.2, 7), c = splitValidation(data, 0.2, 8);
    expect(a.validation.images).toEqual(b.validation.images);
    expect(a.validation.images).not.toEqual(c.validation.images);
  });
  it('rejects fractions outside (0, 1)', () => {
    for (const f of [0, 1, -0.1, NaN]) expect(() => splitValidation(data, f)).toThrow(/validation split/);
  });
});
