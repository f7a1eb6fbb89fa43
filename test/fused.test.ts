/**
 * The fused first-layer step (Backend.sparse_update): a training step whose sparse first layer's
 * weight gradient is summed and applied in one pass ends with the same weights and optimizer state,
 * bit for bit, as the step through the stored gradient and the update kernel; on every backend,
 * for SGD (with and without decay), momentum and Nesterov, for layers on both sides of the column
 * list size rule, batches of one and of several list chunks; and its divergence guard.
 */
import { describe, expect, it } from 'vitest';
import { sameBits } from './helpers/bits.js';
import type { Backend } from '../src/core/backend.js';
import { TsBackend } from '../src/backends/ts/index.js';
import { WasmBackend } from '../src/backends/wasm/index.js';
import { Model, type DataSet } from '../src/train/model.js';
import type { OptimizerConfig } from '../src/train/train.js';
import { Rng } from '../src/core/rng.js';

const backends: [string, () => Promise<Backend>][] = [
  ['ts', async () => new TsBackend()],
  ['wasm-simd', () => WasmBackend.create('simd')],
  ['wasm-scalar', () => WasmBackend.create('scalar')],
  ['wasm-debug', () => WasmBackend.create('debug')],
];

function sparseData(count: number, features: number, classes: number, density: number, seed: number): DataSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * features);
  for (let i = 0; i < images.length; i++) if (rng.float() < density) images[i] = 1 + rng.int(255);
  const labels = Uint8Array.from({ length: count }, () => rng.int(classes));
  return { images, labels, count, features };
}

const optimizer = (type: OptimizerConfig['type'], weightDecay = 0): OptimizerConfig => ({ type, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay });

/** `steps` training steps driven by hand; fused: backward is told the optimizer (as fit() does) */
function run(be: Backend, data: DataSet, layers: number[], batch: number, opt: OptimizerConfig, steps: number, fused: boolean) {
  const m = new Model({ layers, activation: 'relu', seed: 3 }, be);
  const s = m.plan(batch, opt.type === 'sgd' ? 'none' : 'momentum', [data]);
  const r = s.resident.get(data)!;
  m.setOrder(s, Int32Array.from({ length: data.count }, (_, i) => (i * 7919) % data.count));
  const guards: number[] = [];
  let sparseBatches = 0;
  for (let i = 0, start = 0; i < steps; i++, start = (start + batch) % (data.count - batch + 1)) {
    m.loadBatch(s, r, start, batch);
    if (s.sparse) sparseBatches++;
    m.forward(s, batch, true);
    m.lossForward(s, batch);
    m.backward(s, batch, fused ? opt : undefined);
    guards.push(m.update(s, opt, 0.05));
  }
  return { params: m.readParams(), vel: s.opt.length ? be.read(s.opt[0]) : new Float32Array(0), guards, sparseBatches };
}

describe.each(backends)('fused first-layer step on %s', (_name, make) => {
  const cases: [string, number, number[], number, OptimizerConfig][] = [
    ['sgd, narrow layer, row loops', 100, [100, 37, 10], 16, optimizer('sgd')],
    ['sgd + weight decay', 100, [100, 5, 3], 17, optimizer('sgd', 1e-3)],
    ['momentum, 1 MiB layer (column lists)', 784, [784, 337, 10], 24, optimizer('momentum')],
    ['nesterov + decay, batch of several list chunks', 300, [300, 40, 10], 300, optimizer('nesterov', 5e-4)],
    // 300 outputs: the fused step takes the lists in pairs of columns (odd C: a pair without its
    // second), the unfused gradient of this 114 KB layer the row loops
    ['nesterov + decay, wide layer (pair lists), several chunks', 97, [97, 300, 10], 300, optimizer('nesterov', 5e-4)],
  ];
  for (const [label, features, layers, batch, opt] of cases) {
    it(`${label}: weights and velocity bit-identical to the unfused step`, async () => {
      const data = sparseData(Math.max(2 * batch, 64), features, layers.at(-1)!, 0.19, features);
      const a = run(await make(), data, layers, batch, opt, 4, true);
      const b = run(await make(), data, layers, batch, opt, 4, false);
      expect(a.sparseBatches).toBe(4);
      expect(a.guards).toEqual([0, 0, 0, 0]);
      expect(b.guards).toEqual([0, 0, 0, 0]);
      expect(sameBits(a.params, b.params)).toBe(true);
      expect(sameBits(a.vel, b.vel)).toBe(true);
    });
  }

  it('NaN in the first layer\'s dZ or in another gradient is refused before anything changes; an overflowing step keeps those weights', async () => {
    const be = await make();
    const data = sparseData(64, 50, 4, 0.2, 9);
    const m = new Model({ layers: [50, 8, 4], activation: 'relu', seed: 3 }, be);
    const s = m.plan(16, 'momentum', [data]);
    const r = s.resident.get(data)!;
    m.setOrder(s, Int32Array.from({ length: 64 }, (_, i) => i));
    m.loadBatch(s, r, 0, 16);
    m.forward(s, 16, true);
    m.lossForward(s, 16);
    const opt = optimizer('momentum');
    m.backward(s, 16, opt);
    const dz = s.fused!.dout;
    const before = m.readParams(), vel = be.read(s.opt[0]);
    const v = be.read(dz);
    v[5] = NaN;
    be.write(dz, v);
    expect(m.update(s, opt, 0.1)).toBe(1);
    expect(sameBits(m.readParams(), before)).toBe(true);
    expect(sameBits(be.read(s.opt[0]), vel)).toBe(true);
    // a finite dZ with a NaN in another layer's gradient: the first layer is not stepped either
    m.backward(s, 16, opt);
    const g = be.read(m.dense[1].dW);
    g[3] = NaN;
    be.write(m.dense[1].dW, g);
    expect(m.update(s, opt, 0.1)).toBe(1);
    expect(sameBits(m.readParams(), before)).toBe(true);
    expect(sameBits(be.read(s.opt[0]), vel)).toBe(true);
    // a finite dZ with a step that overflows: those first-layer weights keep their values
    m.backward(s, 16, opt);
    const big = be.read(dz).map((x, i) => (i === 0 ? 3e38 : x));
    be.write(dz, big);
    const guard = m.update(s, opt, 1e10);
    expect(guard).toBeLessThan(0);
    const after = m.readParams();
    expect(after.every((x) => Number.isFinite(x))).toBe(true);
  });
});
