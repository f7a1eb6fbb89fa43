/**
 * predict() on raw u8 rows takes the path training and evaluate() take (the first layer through
 * the rows' own non-zero lists when they are sparse enough); models sharing one backend never
 * overwrite each other's memory when they plan or re-plan; evaluate() and predict() called while
 * fit() runs (from its callbacks) leave the training untouched.
 */
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/io/mnist.js';
import { Model, type DataSet } from '../src/train/model.js';
import { BACKENDS } from './helpers/backends.js';
import { synthetic } from './helpers/synthetic.js';
import { sameBits } from './helpers/bits.js';

const mnist = loadMnist();
const take = (d: DataSet, n: number): DataSet => ({ images: d.images.subarray(0, n * d.features), labels: d.labels.subarray(0, n), count: n, features: d.features });
const train = take(mnist.train, 400);
const test = take(mnist.test, 150);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('predict on u8 rows', () => {
  for (const b of BACKENDS) {
    it(`${b.name}: the classes evaluate() counts, probabilities within 1e-5 of the same rows given as scaled f32, sparse and dense rows alike`, async () => {
      const m = new Model({ layers: [784, 24, 10], activation: 'relu', seed: 1 }, await b.create());
      await m.fit(train, { epochs: 1, batchSize: 50, optimizer: 'momentum', learningRate: 0.05 });
      const e = m.evaluate(test, { batchSize: 64 });
      const classes = m.predictClasses(test.images, test.count);
      const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
      classes.forEach((p, i) => confusion[test.labels[i]][p]++);
      expect(confusion).toEqual(e.confusion);
      const scaled = (u8: Uint8Array) => Float32Array.from(u8, (x) => x * m.config.inputScale);
      expect(maxAbsDiff(m.predict(test.images, test.count), m.predict(scaled(test.images), test.count))).toBeLessThanOrEqual(1e-5);
      // inverted digits are ~80% non-zero: over the sparse path's density limit, so the dense path
      const inverted = test.images.map((x) => 255 - x);
      const p = m.predict(inverted, test.count);
      expect(p.every(Number.isFinite)).toBe(true);
      expect(maxAbsDiff(p, m.predict(scaled(inverted), test.count))).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe('predict after a large batch', () => {
  it('stages at most 1,024 u8 rows at a time, whatever batch the model last planned, with the same probabilities', async () => {
    const be = await BACKENDS[1].create();
    const m = new Model({ layers: [784, 12, 10], activation: 'relu', seed: 5 }, be);
    const big = take(mnist.test, 2500);
    m.evaluate(big, { batchSize: 2500 }); // the session's batch is now 2,500
    const before = be.mark();
    const p = m.predict(big.images, 2500);
    expect(be.mark() - before).toBeLessThan(1024 * 784 * 6);
    expect(maxAbsDiff(p, m.predict(Float32Array.from(big.images, (x) => x * m.config.inputScale), 2500))).toBeLessThanOrEqual(1e-5);
  });
});

describe('models sharing one backend', () => {
  for (const b of BACKENDS) {
    it(`${b.name}: planning or re-planning one model never touches another's weights; a model on top reuses its memory`, async () => {
      const be = await b.create();
      const d = synthetic(60, 30, 4, 1);
      const A = new Model({ layers: [30, 8, 4], activation: 'relu', seed: 1 }, be);
      const B = new Model({ layers: [30, 6, 4], activation: 'relu', seed: 2 }, be);
      const wB = B.readParams();
      A.evaluate(d, { batchSize: 10 }); // A's first plan: B's parameters lie above A's own
      expect(sameBits(B.readParams(), wB)).toBe(true);
      const lossB = B.evaluate(d, { batchSize: 10 }).loss;
      await A.fit(d, { epochs: 1, batchSize: 7 }); // A re-plans below B's session
      A.predict(d.images, d.count);
      expect(sameBits(B.readParams(), wB)).toBe(true);
      expect(B.evaluate(d, { batchSize: 10 }).loss).toBe(lossB);
      const wA = A.readParams();
      const lossA = A.evaluate(d, { batchSize: 7 }).loss;
      await B.fit(d, { epochs: 1, batchSize: 9 });
      expect(sameBits(A.readParams(), wA)).toBe(true);
      expect(A.evaluate(d, { batchSize: 7 }).loss).toBe(lossA);
      // B's session is the top: re-planning it back and forth frees and reuses the same memory
      B.evaluate(d, { batchSize: 10 });
      const top = be.mark();
      B.evaluate(d, { batchSize: 12 });
      B.predict(d.images, d.count);
      B.evaluate(d, { batchSize: 10 });
      expect(be.mark()).toBe(top);
    });
  }
});

describe('models sharing one backend, re-planning in turn', () => {
  for (const b of BACKENDS) {
    it(`${b.name}: the memory stays the same size (each re-plan reuses the memory its old session freed), and the answers stay right`, async () => {
      const be = await b.create();
      const A = new Model({ layers: [784, 16, 10], seed: 1 }, be);
      const B = new Model({ layers: [784, 32, 10], activation: 'relu', seed: 2 }, be);
      // a new DataSet object per call, as a service that evaluates each request's data would pass
      const fresh = (d: DataSet): DataSet => ({ ...d });
      const lossA = A.evaluate(fresh(test), { batchSize: 50 }).loss;
      const lossB = B.evaluate(fresh(test), { batchSize: 50 }).loss;
      const sizes: number[] = [];
      for (let round = 0; round < 18; round++) {
        expect(A.evaluate(fresh(test), { batchSize: 50 + (round % 3) }).loss).toBeCloseTo(lossA, 5);
        expect(B.evaluate(fresh(test), { batchSize: 50 + (round % 2) }).loss).toBeCloseTo(lossB, 5);
        sizes.push(be.memoryBytes());
      }
      // the batch sizes repeat every 6 rounds, and so does the memory held (before: each re-plan of
      // the model below put its new session on top of the other's, +~0.5 MB a round)
      expect(sizes.slice(12)).toEqual(sizes.slice(6, 12));
      await A.fit(train, { epochs: 1, batchSize: 40, optimizer: 'momentum' });
      await B.fit(train, { epochs: 1, batchSize: 30, optimizer: 'adam', learningRate: 0.001 });
      const wA = A.readParams(), eA = A.evaluate(test);
      B.evaluate(fresh(test), { batchSize: 77 });
      expect(sameBits(A.readParams(), wA)).toBe(true);
      expect(A.evaluate(test)).toEqual(eA);
    });
  }
});

describe('a re-plan that does not fit', () => {
  for (const b of BACKENDS.filter((x) => x.name.startsWith('wasm'))) {
    it(`${b.name}: is refused with one line and the optimizer state survives it: training goes on bit-identical`, async () => {
      const opts = { epochs: 1, batchSize: 40, optimizer: 'momentum' as const, shuffle: false };
      const ref = new Model({ layers: [784, 16, 10], seed: 4 }, await b.create());
      const m = new Model({ layers: [784, 16, 10], seed: 4 }, await b.create());
      await ref.fit(train, opts);
      await m.fit(train, opts);
      // the old session is freed before the new one is sized; this one would need > 4 GiB
      expect(() => m.evaluate(test, { batchSize: 2 ** 28 })).toThrow(/more than the 4 GiB a wasm32 memory can hold/);
      await ref.fit(train, opts);
      await m.fit(train, opts); // momentum's velocity came back from the failed re-plan
      expect(sameBits(m.readParams(), ref.readParams())).toBe(true);
    });
  }
});

describe('dispose()', () => {
  for (const b of BACKENDS) {
    it(`${b.name}: models that come and go on one backend give their memory back; a disposed model refuses use with one line`, async () => {
      const be = await b.create();
      const keep = new Model({ layers: [784, 12, 10], seed: 3 }, be);
      await keep.fit(train, { epochs: 1, batchSize: 40, optimizer: 'momentum' });
      const w = keep.readParams(), e = keep.evaluate(test);
      const sizes: number[] = [];
      for (let i = 0; i < 8; i++) {
        const m = new Model({ layers: [784, 20 + (i % 2), 10], seed: i }, be);
        await m.fit(train, { epochs: 1, batchSize: 50 });
        m.predict(test.images, 10);
        m.dispose();
        m.dispose(); // a second call does nothing
        sizes.push(be.memoryBytes());
      }
      expect(sizes.slice(4)).toEqual(sizes.slice(2, 4).concat(sizes.slice(2, 4))); // no growth after the first rounds
      expect(sameBits(keep.readParams(), w)).toBe(true);
      expect(keep.evaluate(test)).toEqual(e);
      const gone = new Model({ layers: [784, 8, 10] }, be);
      gone.dispose();
      const line = /^this model was disposed \(dispose\(\) gave its memory back to the backend\): create or load a new one$/;
      expect(() => gone.evaluate(test)).toThrow(line);
      expect(() => gone.predict(test.images, 1)).toThrow(line);
      expect(() => gone.getWeights()).toThrow(line);
      await expect(gone.fit(train)).rejects.toThrow(line);
      // refused while training (the running loop owns the memory)
      const busy = new Model({ layers: [784, 8, 10] }, be);
      let err: unknown;
      await busy.fit(train, { epochs: 1, batchSize: 100, callbacks: { onBatchEnd: () => { try { busy.dispose(); } catch (x) { err = x; } } } });
      expect((err as Error).message).toBe('this model is training: dispose() it after fit() returns');
      busy.dispose();
    });
  }
});

describe('evaluate() and predict() while fit() runs', () => {
  for (const b of BACKENDS) {
    it(`${b.name}: called from every batch's callback, on other data and on fit()'s own test data, they leave training bit-identical and answer as they would after it`, async () => {
      const other = take(mnist.test, 60);
      const opts = { epochs: 2, batchSize: 40, optimizer: 'momentum' as const, learningRate: 0.05, testData: test };
      const plain = new Model({ layers: [784, 16, 10], activation: 'relu', seed: 3 }, await b.create());
      const h0 = await plain.fit(train, opts);
      const m = new Model({ layers: [784, 16, 10], activation: 'relu', seed: 3 }, await b.create());
      const seen: number[] = [];
      const h1 = await m.fit(train, {
        ...opts,
        callbacks: {
          onBatchEnd: (bi) => {
            // fit()'s own test data at its batch size (the training session could serve it), other data at another
            const e = bi % 2 ? m.evaluate(other, { batchSize: 25 }) : m.evaluate(test);
            seen.push(e.loss);
            expect(m.predict(other.images, 3).length).toBe(30);
          },
        },
      });
      expect(seen.length).toBe(20);
      expect(seen.every(Number.isFinite)).toBe(true);
      expect(h1.epochs.map((e) => [e.loss, e.testLoss])).toEqual(h0.epochs.map((e) => [e.loss, e.testLoss]));
      expect(sameBits(m.readParams(), plain.readParams())).toBe(true);
      // the last callback (batch 9 of epoch 2: odd, so `other`) saw the final weights: the same loss as evaluate() after fit()
      expect(m.evaluate(other, { batchSize: 25 }).loss).toBe(seen.at(-1));
    });
  }
});

describe('plan() while fit() runs', () => {
  it('a re-plan from a callback is refused with one line (it would move the memory under the running loop); the model trains again afterwards', async () => {
    const m = new Model({ layers: [784, 8, 10], seed: 1 }, await BACKENDS[1].create());
    const err = await m.fit(train, { epochs: 1, batchSize: 40, callbacks: { onBatchEnd: () => { m.plan(13, null, []); } } }).catch((e) => e);
    expect(err.message).toBe('this model is training: its memory cannot be re-planned until fit() returns (evaluate() and predict() work meanwhile)');
    expect(m.training).toBe(false);
    const h = await m.fit(train, { epochs: 1, batchSize: 40 });
    expect(Number.isFinite(h.epochs[0].loss)).toBe(true);
  });
});

describe('bad arguments to evaluate() and predict()', () => {
  it('get one UsageError line each, never a hang (a batch size of 0 used to loop forever)', async () => {
    const m = new Model({ layers: [784, 8, 10], seed: 1 }, await BACKENDS[1].create());
    for (const batchSize of [0, -5, 2.5, NaN, Infinity]) {
      expect(() => m.evaluate(test, { batchSize }), String(batchSize)).toThrow(/^evaluate: batchSize must be a positive integer, got /);
    }
    for (const count of [-1, 2.5, NaN]) expect(() => m.predict(test.images, count), String(count)).toThrow(/^predict: count must be an integer >= 0, got /);
    expect(m.predict(test.images, 0).length).toBe(0);
    // without a count the inputs must be whole rows: a 20x20 image (or 785 values) is not silently cut to 0 (or 1) rows
    for (const n of [400, 785]) {
      for (const rows of [new Uint8Array(n), new Float32Array(n)]) expect(() => m.predict(rows), String(n)).toThrow(new RegExp(`^predict: ${n} values are not a whole number of inputs of 784 values`));
    }
    expect(m.predict(new Uint8Array(785), 1).length).toBe(10); // with a count, the first rows
    expect(() => m.evaluate({ ...test, count: 2.5 })).toThrow(/count must be a whole number of items, got 2\.5/);
  });
});

describe('wrong data handed to fit(), evaluate(), predict() and setWeights()', () => {
  it('labels that are not class numbers, images that are not bytes, rows of the wrong size and NaN are one UsageError line, not a silent result', async () => {
    const m = new Model({ layers: [784, 8, 10], seed: 1 }, await BACKENDS[1].create());
    const before = m.readParams();
    const withLabel = (y: number) => { const labels = Float32Array.from(train.labels); labels[7] = y; return { ...train, labels } as unknown as DataSet; };
    for (const y of [NaN, -1, 1.5]) {
      await expect(m.fit(withLabel(y), { epochs: 1 }), String(y)).rejects.toThrow(new RegExp(`^training data: label ${y} at index 7 is not a class number: labels must be integers 0\\.\\.9`));
      expect(() => m.evaluate(withLabel(y)), String(y)).toThrow(/is not a class number/);
    }
    // a float image would be converted to bytes silently (300 -> 44); a plain array has no subarray()
    await expect(m.fit({ ...train, images: Float32Array.from(train.images) } as unknown as DataSet, { epochs: 1 })).rejects.toThrow(/^training data: images must be a Uint8Array of pixel values 0\.\.255, got Float32Array/);
    await expect(m.fit({ ...train, labels: Array.from(train.labels) } as unknown as DataSet, { epochs: 1 })).rejects.toThrow(/^training data: labels must be a Uint8Array of class numbers, got Array/);
    await expect(m.fit(null as unknown as DataSet, { epochs: 1 })).rejects.toThrow(/^training data must be an object/);
    expect(m.step).toBe(0);
    expect(sameBits(m.readParams(), before)).toBe(true);
    // 783 values used to give 0 rows back (and predictClasses an empty array)
    expect(() => m.predict(test.images.subarray(0, 783))).toThrow(/^predict: 783 values are not a whole number of inputs of 784 values/);
    expect(() => m.predictClasses(test.images.subarray(0, 784 * 2 + 5))).toThrow(/not a whole number of inputs/);
    expect(m.predict(test.images.subarray(0, 784 * 2 + 5), 2).length).toBe(20);
    expect(() => m.predict(Array.from(test.images.subarray(0, 784)) as unknown as Uint8Array)).toThrow(/^predict: inputs must be a Uint8Array of pixels or a Float32Array of scaled values, got Array/);
    const x = new Float32Array(784 * 2);
    x[784 + 3] = NaN;
    expect(() => m.predict(x)).toThrow(/^predict: the inputs hold NaN at index 787; pass finite numbers/);
    expect(m.predict(x, 1).every(Number.isFinite)).toBe(true); // only the rows asked for are looked at
    const w = m.getWeights();
    w[1].b[2] = Infinity;
    expect(() => m.setWeights(w)).toThrow(/^setWeights: layer 2's biases hold Infinity at index 2; pass finite numbers/);
    const p = m.readParams();
    p[5] = NaN;
    expect(() => m.writeParams(p)).toThrow(/^writeParams: the parameters hold NaN at index 5/);
    expect(sameBits(m.readParams(), before)).toBe(true);
  });
});

describe('model settings checked up front', () => {
  it('an inputScale that is not a positive finite number, or an imageShape that does not match the inputs, is a one-line UsageError', async () => {
    const be = await BACKENDS[0].create();
    for (const inputScale of [NaN, Infinity, 0, -1]) expect(() => new Model({ layers: [12, 3], inputScale }, be), String(inputScale)).toThrow(/^inputScale \(the factor applied to u8 pixels, default 1\/255\) must be a positive finite number, got /);
    for (const imageShape of [[3, 5], [0, 12], [2.5, 4.8]]) expect(() => new Model({ layers: [12, 3], imageShape }, be), JSON.stringify(imageShape)).toThrow(/^imageShape .* does not describe the 12 inputs: give positive integer sizes whose product is 12/);
    expect(new Model({ layers: [12, 3], imageShape: [3, 4], inputScale: 0.5 }, be).config.imageShape).toEqual([3, 4]);
  });
});
