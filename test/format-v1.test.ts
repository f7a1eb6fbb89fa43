/**
 * Model files of version 1 (written by simdnet 0.1.0, before the layer list) keep loading: the fixture
 * test/fixtures/v1-model.simdnet was written by that version, with the probabilities it gave
 * (test/fixtures/v1-model.predict.json); loading it today must predict the same bits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/io/checkpoint-io.js';
import { readModelFile, loadModel } from '../src/io/io.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/v1-model.simdnet', import.meta.url));
const CKPT = fileURLToPath(new URL('./fixtures/v1-checkpoint.ckpt', import.meta.url));
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

  it('reads as the same network in the layer-list description', () => {
    const saved = readModelFile(FIXTURE);
    expect(saved.version).toBe(1);
    expect(saved.description).toEqual({
      input: [3, 4], loss: 'ce',
      layers: [{ type: 'dense', units: 9, activation: 'relu' }, { type: 'dense', units: 5, activation: 'tanh' }, { type: 'dense', units: 4, activation: 'linear' }],
    });
  });

  it('a version 1 checkpoint is refused with one line saying why', () => {
    let err: Error | null = null;
    try { readCheckpoint(CKPT); } catch (e) { err = e as Error; }
    expect(err?.name).toBe('DataError');
    expect(err!.message).toBe(`${CKPT}: is a checkpoint of format version 1 (simdnet 0.1, before layer lists), which this version cannot resume: finish that run with simdnet 0.1, or start a new run`);
  });
});
