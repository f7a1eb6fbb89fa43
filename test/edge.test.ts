/**
 * Edge cases of whole fit() / evaluate() / predict() runs found by an audit: shapes and values at
 * the limits of what the model accepts, on every backend.
 */
import { describe, expect, it } from 'vitest';
import { Model, type DataSet } from '../src/model.js';
import { BACKENDS } from './helpers/backends.js';
import { synthetic } from './helpers/synthetic.js';

describe('labels beyond a byte', () => {
  it('a model of more than 256 classes refuses labels >= 256 (the resident labels are bytes: 299 trained as 43) with one line', async () => {
    const ds = synthetic(20, 10, 3, 1);
    const labels = new Uint16Array(20);
    for (let i = 0; i < 20; i++) labels[i] = i % 2 ? 299 : 43;
    const data = { ...ds, labels } as unknown as DataSet;
    for (const b of BACKENDS) {
      const m = new Model({ layers: [10, 4, 300], seed: 1 }, await b.create());
      await expect(m.fit(data, { epochs: 1, batchSize: 4 }), b.name).rejects.toThrow(/^training data: label 299 at index 1 does not fit in a byte: labels are kept as bytes, so only classes 0\.\.255 can be trained or evaluated/);
      expect(() => m.evaluate(data), b.name).toThrow(/^data: label 299 at index 1 does not fit in a byte/);
      // labels 0..255 of the same model are fine
      await m.fit({ ...ds, labels: labels.map((y) => y % 256) } as unknown as DataSet, { epochs: 1, batchSize: 4 });
    }
  });
});
