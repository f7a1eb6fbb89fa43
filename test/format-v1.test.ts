/**
 * Model files of version 1 (written by simdnet 0.1.0, before the layer list) keep loading: the fixture
 * test/fixtures/v1-model.simdnet was written by that version, with the probabilities it gave
 * (test/fixtures/v1-model.predict.json); loading it today must predict the same bits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/io.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/v1-model.simdnet', import.meta.url));
const expected = JSON.parse(readFileSync(new URL('./fixtures/v1-model.predict.json', import.meta.url), 'utf8'));
const inputs = new Uint8Array(Buffer.from(expected.inputs, 'base64'));

describe('a version 1 model file from simdnet 0.1.0', () => {
  for (const backend of ['ts', 'wasm-simd', 'wasm-scalar'] as const) {
    it(`loads and predicts bit-identically on ${backend}`, async () => {
      const { model, meta } = await loadModel(FIXTURE, { backend });
      expect(meta.note).toMatch(/version 1/);
      expect(model.inputs).toBe(12);
      expect(model.classes).toBe(4);
      const p = model.predict(inputs);
      expect(Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64')).toBe(expected.probabilities[backend]);
    });
  }
});
