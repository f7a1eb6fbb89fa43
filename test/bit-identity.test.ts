/**
 * Issue 21's "must not change": what the current networks compute stays bit-identical. The hashes in
 * test/bit-identity.json were recorded on the code before the layer refactor; this test trains the
 * cheap subset (every preset on wasm-simd, the article's first epoch on wasm-scalar and ts, the golden
 * runs everywhere) and compares. `node scripts/check-bit-identity.mjs` runs every case (slow).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../src/backends/index.js';
import { loadMnist } from '../src/io/mnist.js';
import { Model } from '../src/train/model.js';
import { DEFAULTS, PRESETS } from '../src/train/presets.js';
import { Rng } from '../src/core/rng.js';
import { splitValidation } from '../src/train/split.js';
// @ts-expect-error: a plain .mjs module shared with scripts/check-bit-identity.mjs
import { allCases, CHEAP, runCase } from '../scripts/bit-identity-cases.mjs';

const stored: Record<string, string> = JSON.parse(readFileSync(new URL('./bit-identity.json', import.meta.url), 'utf8'));
const lib = { Model, createBackend, loadMnist, splitValidation, PRESETS, DEFAULTS, Rng };
type Case = { id: string };

describe('bit-identity of what the current networks compute', () => {
  it('every case has a stored hash', () => {
    for (const c of allCases() as Case[]) expect(stored[c.id], c.id).toMatch(/^[0-9a-f]{64}$/);
  });
  const mnist = loadMnist();
  for (const id of CHEAP as string[]) {
    it(id, async () => {
      const c = (allCases() as Case[]).find((x) => x.id === id)!;
      expect(await runCase(lib, c, mnist)).toBe(stored[id]);
    }, 120_000);
  }
  it('scripts/check-bit-identity.mjs runs on the built dist/ (its golden cases)', () => {
    const r = spawnSync(process.execPath, ['scripts/check-bit-identity.mjs', 'golden'], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^all \d+ runs bit-identical to test\/bit-identity\.json$/m);
    expect(r.status).toBe(0);
  }, 120_000);
});
