/**
 * `simdnet export` / `simdnet import` against the real runtimes: the TensorFlow.js export loaded by
 * @tensorflow/tfjs (cpu backend), the ONNX export run by onnxruntime-node, both on 100 real MNIST
 * test images against simdnet's own predict (max abs difference <= 1e-5 on the probabilities), for
 * every hidden activation and both losses; a tfjs -> simdnet -> tfjs round trip; clear one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { ActivationName } from '../src/core/backend.js';
import { Model, type LossName } from '../src/train/model.js';
import { loadMnist, type MnistData } from '../src/io/mnist.js';
import { saveModel, readModelFile } from '../src/io/io.js';
import { toOnnx, toTfjs, fromTfjs } from '../src/interop/interop.js';
import { exportableFromSaved } from '../src/interop/interop-io.js';
import { decodeModel, encodeModel } from '../src/format/format.js';
import { tempDir } from './helpers/idx-fixtures.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-export-');
afterAll(() => tmp.remove());

const N = 100;
let data: MnistData;
let pixels: Float32Array; // the first N test images scaled to [0, 1]

beforeAll(async () => {
  await tf.setBackend('cpu');
  data = loadMnist();
  const u8 = data.test.images.subarray(0, N * data.features);
  pixels = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) pixels[i] = u8[i] / 255;
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** a small model trained for a moment on 3,000 real training images, so its weights are not the init's */
async function trained(hidden: number[], activation: ActivationName, loss: LossName, inputScale?: number): Promise<Model> {
  const model = await Model.create({ layers: [data.features, ...hidden, data.classes], activation, loss, seed: 7, inputScale }, { backend: 'wasm' });
  const n = 3000;
  const sub = { images: data.train.images.subarray(0, n * data.features), labels: data.train.labels.subarray(0, n), count: n, features: data.features };
  await model.fit(sub, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.003, yieldMs: 1e9 });
  return model;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function tfjsPredict(dir: string): Promise<Float32Array> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const handler = tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights), weightData });
  const m = await tf.loadLayersModel(handler);
  const x = tf.tensor2d(pixels, [N, data.features]);
  const y = m.predict(x) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  m.dispose();
  return out;
}

async function onnxPredict(file: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  expect(session.inputNames).toEqual(['pixels']);
  expect(session.outputNames).toEqual(['probabilities']);
  const r = await session.run({ pixels: new ort.Tensor('float32', pixels, [N, data.features]) });
  await session.release();
  return r.probabilities.data as Float32Array;
}

const CASES: { name: string; hidden: number[]; activation: ActivationName; loss: LossName; inputScale?: number }[] = [
  { name: '784-32-10 sigmoid, ce', hidden: [32], activation: 'sigmoid', loss: 'ce' },
  { name: '784-48-24-10 relu, ce', hidden: [48, 24], activation: 'relu', loss: 'ce' },
  { name: '784-32-10 tanh, ce, inputScale 2/255 (folded into layer 1)', hidden: [32], activation: 'tanh', loss: 'ce', inputScale: 2 / 255 },
  { name: '784-32-10 sigmoid, mse (sigmoid outputs)', hidden: [32], activation: 'sigmoid', loss: 'mse' },
  { name: '784-24-10 relu, mse', hidden: [24], activation: 'relu', loss: 'mse' },
  { name: '784-16-10 linear hidden layer, ce', hidden: [16], activation: 'linear', loss: 'ce' },
  { name: '784-10 no hidden layer, mse', hidden: [], activation: 'sigmoid', loss: 'mse' },
];

describe('simdnet export: the same predictions in TensorFlow.js and ONNX Runtime', () => {
  it.each(CASES)('$name', async ({ name, hidden, activation, loss, inputScale }) => {
    const model = await trained(hidden, activation, loss, inputScale);
    const ours = model.predict(data.test.images.subarray(0, N * data.features), N);
    const file = join(tmp.dir, `${name.replace(/\W+/g, '_')}.simdnet`);
    saveModel(model, file);

    const tfDir = join(tmp.dir, `${name.replace(/\W+/g, '_')}-tfjs`);
    const r1 = cli(['export', '--format', 'tfjs', '--model', file, '--out', tfDir]);
    expect(r1.err).toBe('');
    expect(r1.code).toBe(0);
    const tfDiff = maxAbsDiff(await tfjsPredict(tfDir), ours);

    const onnxFile = join(tmp.dir, `${name.replace(/\W+/g, '_')}.onnx`);
    const r2 = cli(['export', '--format', 'onnx', '--model', file, '--out', onnxFile]);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    const onnxDiff = maxAbsDiff(await onnxPredict(onnxFile), ours);

    console.log(`${name}: max |tfjs - simdnet| ${tfDiff.toExponential(2)}, max |onnx - simdnet| ${onnxDiff.toExponential(2)} over ${N} test images`);
    expect(tfDiff).toBeLessThanOrEqual(1e-5);
    expect(onnxDiff).toBeLessThanOrEqual(1e-5);
    // the outputs are probabilities (ce) or sigmoid outputs (mse), not logits
    if (loss === 'ce') for (let i = 0; i < N; i++) expect(ours.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('round trip: simdnet -> tfjs (also loaded over HTTP, as in a browser) -> simdnet keeps every weight bit; an ONNX folder target gets model.onnx', async () => {
    const model = await trained([20], 'relu', 'ce');
    const file = join(tmp.dir, 'rt.simdnet');
    saveModel(model, file);
    const dir = join(tmp.dir, 'rt-tfjs');
    expect(cli(['export', '--format', 'tfjs', '--model', file, '--out', dir]).code).toBe(0);
    // as a browser loads it: tf.loadLayersModel(url of model.json), weights.bin fetched beside it
    const server = createServer((req, res) => {
      try {
        res.end(readFileSync(join(dir, new URL(req.url!, 'http://x').pathname)));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.on('listening', r));
    try {
      const viaHttp = await tf.loadLayersModel(`http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`);
      const x = tf.tensor2d(pixels, [N, data.features]);
      const y = viaHttp.predict(x) as tf.Tensor;
      expect(maxAbsDiff((await y.data()) as Float32Array, model.predict(data.test.images.subarray(0, N * data.features), N))).toBeLessThanOrEqual(1e-5);
      tf.dispose([x, y]);
      viaHttp.dispose();
    } finally {
      server.close();
    }
    const back = join(tmp.dir, 'rt-back.simdnet');
    const r = cli(['import', '--format', 'tfjs', '--model', dir, '--out', back]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const a = readModelFile(file), b = readModelFile(back);
    expect(b.config.layers).toEqual(a.config.layers);
    expect(b.config.activation).toEqual(a.config.activation);
    expect(b.config.loss).toBe(a.config.loss);
    a.weights.forEach((w, l) => {
      expect(Buffer.from(b.weights[l].W.buffer).equals(Buffer.from(w.W.buffer))).toBe(true);
      expect(Buffer.from(b.weights[l].b.buffer).equals(Buffer.from(w.b.buffer))).toBe(true);
    });
    const onnxDir = join(tmp.dir, 'onnx-out');
    const r2 = cli(['export', '--format', 'onnx', '--model', file, '--out', onnxDir]);
    expect(r2.code).toBe(0);
    expect(r2.out).toBe(`wrote ${join(onnxDir, 'model.onnx')} (input: [N, 784] pixels scaled to [0, 1])\n`);
    expect(maxAbsDiff(await onnxPredict(join(onnxDir, 'model.onnx')), model.predict(data.test.images.subarray(0, N * data.features), N))).toBeLessThanOrEqual(1e-5);
  });

  it('imports a model built and saved by TensorFlow.js itself (Flatten, Dense, Dropout, Activation) with the same predictions', async () => {
    const m = tf.sequential();
    m.add(tf.layers.flatten({ inputShape: [28, 28] }));
    m.add(tf.layers.dense({ units: 30, activation: 'tanh' }));
    m.add(tf.layers.dropout({ rate: 0.3 }));
    m.add(tf.layers.dense({ units: 20, useBias: false }));
    m.add(tf.layers.activation({ activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    const dir = join(tmp.dir, 'from-tfjs');
    mkdirSync(dir);
    await m.save(tf.io.withSaveHandler(async (art) => {
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: art.format, generatedBy: art.generatedBy, convertedBy: art.convertedBy, modelTopology: art.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: art.weightSpecs }] }));
      writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(art.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const x = tf.tensor4d(pixels, [N, 28, 28, 1]).reshape([N, 28, 28]);
    const theirs = (await (m.predict(x) as tf.Tensor).data()) as Float32Array;
    const out = join(tmp.dir, 'from-tfjs.simdnet');
    const r = cli(['import', '--format', 'tfjs', '--model', join(dir, 'model.json'), '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('784-30-20-10 tanh,relu, loss ce');
    const saved = readModelFile(out);
    const simd = await Model.create(saved.config, { backend: 'wasm' });
    simd.setWeights(saved.weights);
    const diff = maxAbsDiff(simd.predict(data.test.images.subarray(0, N * data.features), N), theirs);
    console.log(`tfjs-built model imported: max |simdnet - tfjs| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    m.dispose();
    x.dispose();
  });

  it('the library functions: toTfjs/fromTfjs invert each other, toOnnx is deterministic', async () => {
    const model = await trained([8], 'sigmoid', 'mse');
    const m = { ...model.config, weights: model.getWeights() };
    const { modelJson, weightsBin } = toTfjs(m);
    const back = fromTfjs(JSON.parse(JSON.stringify(modelJson)), weightsBin);
    expect(back.model).toEqual({ input: [784], layers: [{ type: 'dense', units: 8, activation: 'sigmoid' }, { type: 'dense', units: 10, activation: 'linear' }], loss: 'mse' });
    expect(Array.from(back.tensors['layers.0.W'])).toEqual(Array.from(m.weights[0].W));
    expect(Buffer.from(toOnnx(m)).equals(Buffer.from(toOnnx(exportableFromSaved(decodeModel(encodeModel(model.config, model.getWeights()))))))).toBe(true);
  });
});

describe('simdnet export/import errors: one line, exit 2, no stack trace', () => {
  const model = () => {
    const file = join(tmp.dir, 'err.simdnet');
    return file;
  };
  beforeAll(async () => {
    saveModel(await Model.create({ layers: [784, 4, 10], seed: 1 }, { backend: 'ts' }), model());
  });
  const unsupported = () => {
    const dir = tmp.sub('lstm');
    writeFileSync(join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [
        { class_name: 'LSTM', config: { name: 'lstm', units: 4, batch_input_shape: [null, 28, 28] } },
        { class_name: 'Dense', config: { name: 'd', units: 10, activation: 'softmax' } },
      ] } },
      weightsManifest: [{ paths: ['w.bin'], weights: [] }],
    }));
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(0));
    return dir;
  };
  const badActivation = () => {
    const dir = tmp.sub('elu');
    writeFileSync(join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [
        { class_name: 'Dense', config: { name: 'a', units: 2, activation: 'elu', batch_input_shape: [null, 3] } },
        { class_name: 'Dense', config: { name: 'b', units: 2, activation: 'softmax' } },
      ] } },
      weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'a/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'a/bias', shape: [2], dtype: 'float32' }, { name: 'b/kernel', shape: [2, 2], dtype: 'float32' }, { name: 'b/bias', shape: [2], dtype: 'float32' }] }],
    }));
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(14 * 4));
    return dir;
  };
  const cases: [string, () => string[], RegExp][] = [
    ['unknown format', () => ['export', '--format', 'keras', '--model', model(), '--out', join(tmp.dir, 'x')], /--format: unknown value 'keras'; use one of tfjs, onnx/],
    ['no format', () => ['export', '--model', model(), '--out', join(tmp.dir, 'x')], /export needs --format tfjs\|onnx/],
    ['missing model file', () => ['export', '--format', 'onnx', '--model', join(tmp.dir, 'nope.simdnet'), '--out', join(tmp.dir, 'x.onnx')], /nope\.simdnet: model file not found/],
    ['not a model file', () => ['export', '--format', 'tfjs', '--model', CLI, '--out', join(tmp.dir, 'x')], /cli\/main\.js: not a simdnet model file/],
    ['no --out', () => ['export', '--format', 'tfjs', '--model', model()], /export needs --out DIR/],
    ['import: unknown format', () => ['import', '--format', 'onnx', '--model', 'x', '--out', 'y'], /--format: unknown value 'onnx'; use one of tfjs/],
    ['import: missing folder', () => ['import', '--format', 'tfjs', '--model', join(tmp.dir, 'nowhere'), '--out', join(tmp.dir, 'y.simdnet')], /nowhere: not found/],
    ['import: folder without model.json', () => ['import', '--format', 'tfjs', '--model', tmp.sub('empty'), '--out', join(tmp.dir, 'y.simdnet')], /model\.json: TensorFlow\.js model\.json not found/],
    ['import: unsupported layer', () => ['import', '--format', 'tfjs', '--model', unsupported(), '--out', join(tmp.dir, 'y.simdnet')], /unsupported layer 1: LSTM; simdnet imports InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, BatchNormalization, Dense, Dropout, Activation \(channels_last\)$/m],
    ['import: unsupported activation', () => ['import', '--format', 'tfjs', '--model', badActivation(), '--out', join(tmp.dir, 'y.simdnet')], /layer a: unsupported activation 'elu'/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const r = cli(args());
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^simdnet: /);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
