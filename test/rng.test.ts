/**
 * The PRNG's shuffle (inlined for speed) draws exactly what Fisher-Yates over Rng.int() draws, so
 * runs, resumes and checkpoints from before the inlining reproduce bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';

/** the shuffle as it was written before: one int() call per position */
function referenceShuffle(r: Rng, a: Int32Array): void {
  // int() as it was too: rejection sampling, then %
  const int = (n: number) => { const limit = 4294967296 - (4294967296 % n); let x: number; do x = r.nextU32(); while (x >= limit); return x % n; };
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

describe('Rng.shuffle', () => {
  it('the same permutation and the same state afterwards as Fisher-Yates over int(), for every length and several seeds', () => {
    for (const seed of [0, 1, 3, 20261128, 0xffffffff]) {
      for (const n of [0, 1, 2, 3, 5, 17, 1000, 60000]) {
        const a = new Rng(seed), b = new Rng(seed);
        // a few draws first, so the state is not the seed's
        for (let k = 0; k < seed % 7; k++) (a.nextU32(), b.nextU32());
        const x = Int32Array.from({ length: n }, (_, i) => i), y = x.slice();
        a.shuffle(x);
        referenceShuffle(b, y);
        expect(x, `seed ${seed} n ${n}`).toEqual(y);
        expect(a.getState(), `state after, seed ${seed} n ${n}`).toEqual(b.getState());
        // twice in a row (an epoch after another)
        a.shuffle(x);
        referenceShuffle(b, y);
        expect(x).toEqual(y);
      }
    }
  });

  it('int(n) as with %, for n up to 2^32 - 1', () => {
    const a = new Rng(9), b = new Rng(9), pick = new Rng(10);
    const old = (n: number) => { const limit = 4294967296 - (4294967296 % n); let x: number; do x = b.nextU32(); while (x >= limit); return x % n; };
    for (let k = 0; k < 20000; k++) {
      const n = [1, 2, 3, 7, 60000, 2 ** 31, 2 ** 32 - 1, 3 * 2 ** 30 + 1][k % 8] ?? 1;
      const m = k % 3 === 0 ? 1 + (pick.nextU32() % 4294967295) : n;
      expect(a.int(m), `int(${m})`).toBe(old(m));
    }
  });

  it('a permutation: every index once', () => {
    const a = Int32Array.from({ length: 60000 }, (_, i) => i);
    new Rng(5).shuffle(a);
    const seen = new Uint8Array(a.length);
    for (const v of a) seen[v]++;
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(Array.from(a.subarray(0, 20))).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
