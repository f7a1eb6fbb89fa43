/**
 * CNN export and import (issue 22, "Interop and demo"): layer lists that cover every exportable
 * kind (conv valid and same, stride 2, a 2x3 kernel, the odd 'same' pad on the bottom/right, max
 * and average pooling with 'same' padding, batch norm after a conv and after a dense with running
 * statistics far from 0 and 1, global average pooling, flatten, dropout, dense with activations, a
 * dense reading a conv's output unflattened), exported to TensorFlow.js (run by @tensorflow/tfjs,
 * cpu backend) and ONNX (run by onnxruntime-node), give simdnet's outputs within 1e-5 on 200 real
 * MNIST test images and on a 3-channel synthetic input, with the same predicted classes; the tfjs
 * import of each export, and of a model built in TensorFlow.js, predicts the same in simdnet.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../src/io/mnist.js';
import { Rng } from '../src/core/rng.js';
import { conv2dShape } from '../src/core/backend.js';
import { exportableNet, fromTfjs, toOnnx, toTfjs, describeNet, type ExportableNet, type NetLayer } from '../src/interop/interop.js';
import { Model } from '../src/train/model.js';
import { DataError } from '../src/core/errors.js';
import { activation, avgPool2d, batchNorm, conv2d, dense, dropout, flatten, globalAvgPool, maxPool2d, type LayerSpec } from '../src/nn/layers.js';
import { referencePredict } from './helpers/cnn-reference.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { loadModel, saveModel } from '../src/io/io.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-export-cnn-');
afterAll(() => tmp.remove());

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const N = 200;
let mnist: { images: Uint8Array; labels: Uint8Array };
let train: { images: Uint8Array; labels: Uint8Array };

beforeAll(async () => {
  await tf.setBackend('cpu');
  const data = loadMnist();
  mnist = { images: data.test.images.subarray(0, N * 784), labels: data.test.labels.subarray(0, N) };
  train = data.train;
});

/** every layer's tensors, seeded: weights at the scale of a He init, batch-norm statistics far from (0, 1) */
function randomNet(input: number[], layers: NetLayer[], loss: 'ce' | 'mse', seed: number, inputScale = 1 / 255): ExportableNet {
  const rng = new Rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.float();
  let shape = input.length === 2 ? [input[0], input[1], 1] : input.slice();
  const perLayer = layers.map((d): Record<string, Float32Array> => {
    const fill = (n: number, g: () => number) => Float32Array.from({ length: n }, g);
    switch (d.type) {
      case 'dense': {
        const I = shape.reduce((a, b) => a * b, 1);
        shape = [d.units];
        return { W: fill(I * d.units, () => u(-1, 1) * Math.sqrt(6 / I)), b: fill(d.units, () => u(-0.1, 0.1)) };
      }
      case 'conv2d': {
        const [H, W, C] = shape, [KH, KW] = d.kernel;
        const { OH, OW } = conv2dShape(H, W, KH, KW, d.stride, d.padding === 'same');
        shape = [OH, OW, d.filters];
        return { W: fill(KH * KW * C * d.filters, () => u(-1, 1) * Math.sqrt(6 / (KH * KW * C))), b: fill(d.filters, () => u(-0.1, 0.1)) };
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const { OH, OW } = conv2dShape(shape[0], shape[1], d.size, d.size, d.stride, d.padding === 'same');
        shape = [OH, OW, shape[2]];
        return {};
      }
      case 'globalavgpool':
        shape = [shape[2]];
        return {};
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        return {};
      case 'batchnorm': {
        const C = shape[shape.length - 1];
        return { gamma: fill(C, () => u(0.5, 1.5)), beta: fill(C, () => u(-0.3, 0.3)), mean: fill(C, () => u(-0.5, 0.8)), variance: fill(C, () => u(0.3, 2.5)) };
      }
      default:
        return {};
    }
  });
  const tensors: Record<string, Float32Array> = {};
  perLayer.forEach((t, i) => Object.entries(t).forEach(([n, a]) => (tensors[`layers.${i}.${n}`] = a)));
  return { model: { input, layers, loss }, inputScale, tensors };
}

const conv = (filters: number, kernel: [number, number], stride: number, padding: 'valid' | 'same', activation: 'relu' | 'tanh' | 'sigmoid' | 'linear' = 'linear'): NetLayer => ({ type: 'conv2d', filters, kernel, stride, padding, activation });
const pool = (type: 'maxpool2d' | 'avgpool2d', size: number, stride: number, padding: 'valid' | 'same'): NetLayer => ({ type, size, stride, padding });
const bn: NetLayer = { type: 'batchnorm', momentum: 0.99, epsilon: 0.001 };

/** the nets: names say what each covers that the others do not */
const NETS: { name: string; input: number[]; layers: LayerSpec[]; loss: 'ce' | 'mse'; inputScale?: number; data: 'mnist' | 'synthetic' }[] = [
  {
    name: 'MNIST: conv valid + bn + maxpool, conv 2x3 stride 2 same (odd pad right), tanh, avgpool 2 stride 1 same, maxpool same on 7x7, flatten, dropout, dense relu + bn, dense',
    input: [28, 28],
    layers: [conv2d(6, 3, { activation: 'relu' }), batchNorm({ momentum: 0.9 }), maxPool2d(2), conv2d(8, [2, 3], { stride: 2, padding: 'same' }), activation('tanh'), avgPool2d(2, { stride: 1, padding: 'same' }), maxPool2d(2, { padding: 'same' }), flatten(), dropout(0.3), dense(16, 'relu'), batchNorm({ momentum: 0.9 }), dense(10)],
    loss: 'ce',
    data: 'mnist',
  },
  {
    name: 'MNIST: conv 5x5 stride 2 same (odd pad bottom/right), avgpool 3 stride 2 same, bn, conv, globalavgpool, dense sigmoid, dense',
    input: [28, 28],
    layers: [conv2d(8, 5, { stride: 2, padding: 'same', activation: 'relu' }), avgPool2d(3, { stride: 2, padding: 'same' }), batchNorm(), conv2d(24, 3, { activation: 'relu' }), globalAvgPool(), dense(16, 'sigmoid'), dense(10)],
    loss: 'ce',
    data: 'mnist',
  },
  {
    name: '9x7x3 synthetic, inputScale 2/255 folded into the conv, conv 2x3 stride 2 same tanh, maxpool 3 stride 2 same, dense reading the pooled image unflattened, mse',
    input: [9, 7, 3],
    layers: [conv2d(5, [2, 3], { stride: 2, padding: 'same', activation: 'tanh' }), maxPool2d(3, { stride: 2, padding: 'same' }), dense(6, 'relu'), dropout(0.2), dense(4)],
    loss: 'mse',
    inputScale: 2 / 255,
    data: 'synthetic',
  },
];

/** 3-channel images: per image and channel a random ramp plus noise, clipped to [0, 255] (zeros included); the label is the brightest channel, or 3 when all are dark */
function synthetic3(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed), images = new Uint8Array(n * 9 * 7 * 3), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const sums = [0, 0, 0];
    for (let c = 0; c < 3; c++) {
      const a = rng.float() * 400 - 150, dh = rng.float() * 60 - 30, dw = rng.float() * 60 - 30;
      for (let h = 0; h < 9; h++) for (let w = 0; w < 7; w++) {
        const v = Math.max(0, Math.min(255, Math.round(a + dh * h + dw * w + rng.float() * 40 - 20)));
        images[((i * 9 + h) * 7 + w) * 3 + c] = v;
        sums[c] += v;
      }
    }
    const top = sums.indexOf(Math.max(...sums));
    labels[i] = sums[top] < 40 * 63 ? 3 : top;
  }
  return { images, labels };
}

/** a model of the list trained for a moment (Adam, batch 32), so its weights and running statistics are not the init's */
async function trained(spec: (typeof NETS)[number]): Promise<{ model: Model; x: Uint8Array; labels: Uint8Array; n: number }> {
  const model = await Model.create({ layers: spec.layers, inputShape: spec.input, loss: spec.loss, seed: 7, inputScale: spec.inputScale }, { backend: 'wasm' });
  if (spec.data === 'mnist') {
    const n = 2000;
    await model.fit({ images: train.images.subarray(0, n * 784), labels: train.labels.subarray(0, n), count: n, features: 784 }, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.01, yieldMs: 1e9 });
    return { model, x: mnist.images, labels: mnist.labels, n: N };
  }
  const t = synthetic3(1024, 5), features = 9 * 7 * 3;
  await model.fit({ images: t.images, labels: t.labels, count: 1024, features }, { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.01, yieldMs: 1e9 });
  const e = synthetic3(64, 6);
  return { model, x: e.images, labels: e.labels, n: 64 };
}

/** the network without its flatten layers (the tensors renamed after the layers' new indices) */
function withoutFlatten(net: ExportableNet): ExportableNet {
  const index: number[] = [];
  const layers = net.model.layers.filter((d, i) => {
    index[i] = d.type === 'flatten' ? -1 : index.filter((j) => j >= 0).length;
    return d.type !== 'flatten';
  });
  const tensors = Object.fromEntries(Object.entries(net.tensors).map(([k, v]) => [k.replace(/^layers\.(\d+)\./, (_, i) => `layers.${index[Number(i)]}.`), v]));
  return { ...net, model: { ...net.model, layers }, tensors };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function argmax(p: ArrayLike<number>, n: number): number[] {
  const K = p.length / n;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k;
    return best;
  });
}

/** the export's input: pixels in [0, 1], NHWC */
function unitPixels(x: Uint8Array): Float32Array {
  return Float32Array.from(x, (v) => v / 255);
}

function inputDims(net: ExportableNet, n: number): number[] {
  const s = net.model.input;
  return [n, s[0], s[1], s.length === 3 ? s[2] : 1];
}

async function tfjsPredict(art: { modelJson: unknown; weightsBin: Uint8Array }, x: Float32Array, dims: number[]): Promise<Float32Array> {
  // a round trip through JSON and the bytes, as the files give them
  const json = JSON.parse(JSON.stringify(art.modelJson));
  const weightData = art.weightsBin.slice().buffer;
  const m = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
  const t = tf.tensor(x, dims);
  const y = m.predict(t) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([t, y]);
  m.dispose();
  return out;
}

async function onnxPredict(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  expect(session.inputNames).toEqual(['pixels']);
  expect(session.outputNames).toEqual(['probabilities']);
  const r = await session.run({ pixels: new ort.Tensor('float32', x, dims) });
  await session.release();
  return r.probabilities.data as Float32Array;
}

describe('CNN export: TensorFlow.js and ONNX Runtime give simdnet\'s outputs', () => {
  it.each(NETS)('$name', async (spec) => {
    const { model, x, labels, n } = await trained(spec);
    const net = exportableNet(model);
    const ours = model.predict(x, n);
    // an independent check: the same network composed from the TS reference kernels
    expect(maxAbsDiff(referencePredict(net, x, n), ours)).toBeLessThanOrEqual(1e-5);
    const pixels = unitPixels(x), dims = inputDims(net, n);

    // through the CLI, as a user exports a saved model
    const file = join(tmp.dir, `${spec.data}-${spec.layers.length}.simdnet`), tfDir = `${file}-tfjs`, onnxFile = `${file}.onnx`;
    saveModel(model, file);
    const inputText = `[N, ${net.model.input.length === 2 ? [...net.model.input, 1].join(', ') : net.model.input.join(', ')}] (NHWC)`;
    for (const [format, out, written] of [['tfjs', tfDir, `${join(tfDir, 'model.json')} and ${join(tfDir, 'weights.bin')}`], ['onnx', onnxFile, onnxFile]]) {
      const r = cli(['export', '--format', format, '--model', file, '--out', out]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toBe(`wrote ${written} (input: ${inputText} pixels scaled to [0, 1])\n`);
    }
    const art = { modelJson: JSON.parse(readFileSync(join(tfDir, 'model.json'), 'utf8')), weightsBin: new Uint8Array(readFileSync(join(tfDir, 'weights.bin'))) };
    expect(art.modelJson).toEqual(toTfjs(model, { generatedBy: art.modelJson.generatedBy }).modelJson);
    const tfOut = await tfjsPredict(art, pixels, dims);
    const onnxOut = await onnxPredict(new Uint8Array(readFileSync(onnxFile)), pixels, dims);
    const tfDiff = maxAbsDiff(tfOut, ours), onnxDiff = maxAbsDiff(onnxOut, ours);
    const classes = argmax(ours, n);
    const hits = (c: number[]) => c.filter((k, i) => k === labels[i]).length;
    const bnStats = Object.entries(net.tensors).filter(([k]) => /\.(mean|variance)$/.test(k)).map(([k, v]) => `${k} ${Array.from(v.subarray(0, 2), (a) => a.toFixed(3)).join(' ')}`);
    console.log(`${describeNet(net)}: max |tfjs - simdnet| ${tfDiff.toExponential(2)}, max |onnx - simdnet| ${onnxDiff.toExponential(2)} over ${n} ${spec.data === 'mnist' ? 'MNIST test images' : 'synthetic inputs'}; accuracy ${hits(classes)}/${n} (tfjs ${hits(argmax(tfOut, n))}, onnx ${hits(argmax(onnxOut, n))}); ${bnStats.join('; ')}`);
    expect(tfDiff).toBeLessThanOrEqual(1e-5);
    expect(onnxDiff).toBeLessThanOrEqual(1e-5);
    expect(argmax(tfOut, n)).toEqual(classes);
    expect(argmax(onnxOut, n)).toEqual(classes);
    // the model learned something (a test of an untrained net's outputs would prove little)
    expect(hits(classes)).toBeGreaterThan(n * (spec.data === 'mnist' ? 0.3 : 0.4)); // chance: 0.1, 0.25
    // running statistics moved away from their init (0, 1)
    for (const [k, v] of Object.entries(net.tensors)) if (/\.mean$/.test(k)) expect(Math.max(...Array.from(v, Math.abs))).toBeGreaterThan(0.01);

    // the tfjs import of the export is the same network: same layers (up to flatten layers, a
    // no-op view in simdnet, which the export adds before a dense that reads an image), same tensors
    // (the input scale folded into the first layer with weights), the same predictions
    const back = fromTfjs(JSON.parse(JSON.stringify(art.modelJson)), art.weightsBin);
    const a = withoutFlatten(back), b = withoutFlatten(net);
    expect(a.model).toEqual(b.model);
    const k = net.inputScale * 255, first = b.model.layers.findIndex((d) => d.type === 'conv2d' || d.type === 'dense');
    expect(Object.keys(a.tensors).sort()).toEqual(Object.keys(b.tensors).sort());
    for (const [name, v] of Object.entries(a.tensors)) expect(Array.from(v)).toEqual(Array.from(b.tensors[name], (w) => (name === `layers.${first}.W` && k !== 1 ? Math.fround(w * k) : w)));
    const backFile = `${file}-back.simdnet`;
    const r = cli(['import', '--format', 'tfjs', '--model', tfDir, '--out', backFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${backFile}: ${describeNet(back)}\n`);
    const { model: imported } = await loadModel(backFile, { backend: 'wasm' });
    const again = imported.predict(x, n);
    expect(maxAbsDiff(again, ours)).toBeLessThanOrEqual(k === 1 ? 0 : 1e-6);
    expect(argmax(again, n)).toEqual(classes);
    model.dispose?.();
    imported.dispose?.();
  });
});

/** a model's artifacts as tfjs saves them: the topology JSON and the weight bytes */
async function saved(m: tf.LayersModel): Promise<{ json: unknown; bin: Uint8Array }> {
  let out: { json: unknown; bin: Uint8Array } | undefined;
  await m.save(tf.io.withSaveHandler(async (art) => {
    out = { json: JSON.parse(JSON.stringify({ format: art.format, modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: art.weightSpecs }] })), bin: new Uint8Array(art.weightData as ArrayBuffer) };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return out!;
}

/** batch-norm layers given running statistics far from (0, 1), and gamma/beta off their init */
function perturbBatchNorms(m: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const layer of m.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(layer.getWeights().map((w) => {
      const n = w.size, name = w.name;
      const v = Float32Array.from({ length: n }, () => (/variance/.test(name) ? 0.3 + 2 * rng.float() : /gamma/.test(name) ? 0.5 + rng.float() : rng.float() - 0.4));
      return tf.tensor(v, w.shape);
    }));
  }
}

describe('tfjs import: models built in TensorFlow.js predict the same in simdnet', () => {
  it('MNIST: Conv2D 2x3 stride 2 same relu, BatchNormalization, MaxPooling2D same, AveragePooling2D 3 stride 1 same, Conv2D tanh, Flatten, Dropout, Dense without bias + Activation relu, BatchNormalization, Dense softmax', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: [2, 3], strides: 2, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 0.01 }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }));
    m.add(tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }));
    m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'tanh' }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dropout({ rate: 0.25 }));
    m.add(tf.layers.dense({ units: 12, useBias: false }));
    m.add(tf.layers.activation({ activation: 'relu' }));
    m.add(tf.layers.batchNormalization({}));
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    perturbBatchNorms(m, 3);
    const x = tf.tensor(unitPixels(mnist.images), [N, 28, 28, 1]);
    const theirs = (await (m.predict(x) as tf.Tensor).data()) as Float32Array;
    const { json, bin } = await saved(m);
    const net = fromTfjs(json, bin, 'built/model.json');
    expect(net.model.input).toEqual([28, 28]);
    expect(net.model.loss).toBe('ce');
    expect(describeNet(net)).toBe('input 28x28, conv 4 2x3/2 same relu, batchnorm 0.9/0.01, maxpool 2 same, avgpool 3/1 same, conv 6 3x3 tanh, flatten, dropout 0.25, dense 12, relu, batchnorm, dense 10, loss ce');
    expect(net.model.layers[1]).toEqual({ type: 'batchnorm', momentum: 0.9, epsilon: 0.01 });
    // through the CLI: the folder as tfjs saves it, simdnet import, the model file loaded
    const dir = tmp.sub('tfjs-built'), file = join(tmp.dir, 'tfjs-built.simdnet');
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'w.bin'), bin);
    const r = cli(['import', '--format', 'tfjs', '--model', dir, '--out', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${file}: ${describeNet(net)}\n`);
    const { model } = await loadModel(file, { backend: 'wasm' });
    const ours = model.predict(mnist.images, N);
    expect(maxAbsDiff(referencePredict(net, mnist.images, N), ours)).toBeLessThanOrEqual(1e-5);
    const diff = maxAbsDiff(ours, theirs);
    console.log(`tfjs-built CNN imported: max |simdnet - tfjs| ${diff.toExponential(2)} over ${N} MNIST test images`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(argmax(ours, N)).toEqual(argmax(theirs, N));
    tf.dispose([x, m]);
  });

  it('3 channels: GlobalAveragePooling2D, BatchNormalization without center and scale, sigmoid output (-> mse)', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [9, 7, 3], filters: 5, kernelSize: 3, padding: 'same' }));
    m.add(tf.layers.batchNormalization({ center: false, scale: false }));
    m.add(tf.layers.activation({ activation: 'sigmoid' }));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 3, activation: 'sigmoid' }));
    perturbBatchNorms(m, 4);
    const rng = new Rng(9), n = 16, u8 = Uint8Array.from({ length: n * 9 * 7 * 3 }, () => Math.floor(rng.float() * 256));
    const x = tf.tensor(unitPixels(u8), [n, 9, 7, 3]);
    const theirs = (await (m.predict(x) as tf.Tensor).data()) as Float32Array;
    const { json, bin } = await saved(m);
    const net = fromTfjs(json, bin);
    expect(net.model.input).toEqual([9, 7, 3]);
    expect(net.model.loss).toBe('mse');
    expect(Array.from(net.tensors['layers.1.gamma'])).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(net.tensors['layers.1.beta'])).toEqual([0, 0, 0, 0, 0]);
    const model = await Model.create({ layers: net.model.layers, inputShape: net.model.input, loss: net.model.loss, inputScale: net.inputScale }, { backend: 'wasm' });
    model.setLayerTensors(net.tensors);
    expect(maxAbsDiff(model.predict(u8, n), theirs)).toBeLessThanOrEqual(1e-5);
    tf.dispose([x, m]);
  });
});

describe('tfjs import: what simdnet cannot run is one line naming the layer', () => {
  const model = (layers: { class_name: string; config: Record<string, unknown> }[]) => ({ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { name: 's', layers } }, weightsManifest: [{ paths: ['w.bin'], weights: [] }] });
  const input = { batch_input_shape: [null, 8, 8, 1] };
  const cases: [string, { class_name: string; config: Record<string, unknown> }[], RegExp][] = [
    ['channels_first', [{ class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: [3, 3], data_format: 'channels_first', ...input } }], /^m\.json: layer 1 \(Conv2D c\): data_format channels_first; simdnet imports channels_last \(NHWC\) models only$/],
    ['dilation', [{ class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: 3, dilation_rate: [2, 2], ...input } }], /^m\.json: layer 1 \(Conv2D c\): dilation_rate \[2,2\]; simdnet convolutions are not dilated$/],
    ['two strides', [{ class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: 3, strides: [1, 2], ...input } }], /^m\.json: layer 1 \(Conv2D c\): strides \[1,2\]; simdnet takes one stride for both axes$/],
    ['a non-square pool', [{ class_name: 'MaxPooling2D', config: { name: 'p', pool_size: [2, 3], ...input } }], /^m\.json: layer 1 \(MaxPooling2D p\): pool_size \[2,3\]; simdnet pools square windows$/],
    ['a Dense on an image', [{ class_name: 'Dense', config: { name: 'd', units: 3, ...input } }], /^m\.json: layer 1 \(Dense d\): its input is 8x8x1: a Keras Dense acts on the last axis only, simdnet's dense reads its input flattened; add a Flatten before it$/],
    ['a conv on a vector', [{ class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: 3, batch_input_shape: [null, 64] } }], /^m\.json: layer 1 \(Conv2D c\): takes an image \(H x W x C\) but its input is 64$/],
    ['batch norm on another axis', [{ class_name: 'BatchNormalization', config: { name: 'b', axis: 1, ...input } }], /^m\.json: layer 1 \(BatchNormalization b\): axis 1; simdnet normalises the last axis \(channels_last\)$/],
    ['keepdims', [{ class_name: 'GlobalAveragePooling2D', config: { name: 'g', keepdims: true, ...input } }], /^m\.json: layer 1 \(GlobalAveragePooling2D g\): keepdims is not supported$/],
    ['a Conv3D', [{ class_name: 'Conv3D', config: { name: 'c', ...input } }], /^m\.json: unsupported layer 1: Conv3D; simdnet imports InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, BatchNormalization, Dense, Dropout, Activation \(channels_last\)$/],
  ];
  it.each(cases)('%s', (_name, layers, message) => {
    expect(() => fromTfjs(model(layers), new Uint8Array(0), 'm.json')).toThrow(message);
  });

  it('an image output, a hidden softmax, an elu: one line each', async () => {
    const build = (add: (m: tf.Sequential) => void) => {
      const m = tf.sequential();
      add(m);
      return m;
    };
    const imageOut = build((m) => m.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'softmax' })));
    const hidden = build((m) => {
      m.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'softmax' }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    });
    const elu = build((m) => {
      m.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'elu', name: 'conv_elu' }));
      m.add(tf.layers.globalAveragePooling2d({}));
      m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    });
    for (const [m, re] of [
      [imageOut, /^m\.json: the output is 4x4x3; simdnet needs one value per class \(add a Flatten or GlobalAveragePooling2D\)$/],
      [hidden, /^m\.json: layer conv2d_Conv2D\d+: unsupported activation 'softmax'; simdnet supports sigmoid, relu, tanh, linear \(and softmax or sigmoid on the last layer\)$/],
      [elu, /^m\.json: layer conv_elu: unsupported activation 'elu'/],
    ] as const) {
      const { json, bin } = await saved(m);
      expect(() => fromTfjs(json, bin, 'm.json')).toThrow(re);
      m.dispose();
    }
  });
});

describe('CNN export: what the formats cannot express is one line', () => {
  it('an inputScale other than 1/255 folds into the first conv only past layers that commute with it', () => {
    const net = randomNet([8, 8], [bn, conv(2, [3, 3], 1, 'valid'), { type: 'flatten' }, { type: 'dense', units: 2, activation: 'linear' }], 'ce', 1, 2 / 255);
    expect(() => toTfjs(net)).toThrow(/^cannot export: inputScale 0\.00784\d* \(not 1\/255\) cannot be folded past layer 1 \(batchnorm\); train with the default inputScale$/);
    expect(() => toOnnx(net)).toThrow(/cannot be folded past layer 1 \(batchnorm\)/);
    // past a max pooling it folds (max(k x) = k max(x) for k > 0)
    const pooled = randomNet([8, 8], [pool('maxpool2d', 2, 2, 'valid'), conv(2, [3, 3], 1, 'valid'), { type: 'flatten' }, { type: 'dense', units: 2, activation: 'linear' }], 'ce', 1, 2 / 255);
    expect(toTfjs(pooled).weightsBin.length).toBe((3 * 3 * 2 + 2 + 8 * 2 + 2) * 4);
  });

  it('simdnet export of such a model file: one line, exit 2, nothing written', async () => {
    const model = await Model.create({ layers: [batchNorm(), conv2d(2, 3), flatten(), dense(2)], inputShape: [8, 8], inputScale: 2 / 255, seed: 1 }, { backend: 'ts' });
    const file = join(tmp.dir, 'bn-first.simdnet');
    saveModel(model, file);
    for (const format of ['tfjs', 'onnx']) {
      const out = join(tmp.dir, `bn-first-${format}`);
      const r = cli(['export', '--format', format, '--model', file, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^simdnet: cannot export: inputScale 0\.00784\d* \(not 1\/255\) cannot be folded past layer 1 \(batchnorm\); train with the default inputScale\n$/);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a CNN\'s config with getWeights() (the dense layers only) is refused, naming what to pass', async () => {
    const model = await Model.create({ layers: [conv2d(2, 3), flatten(), dense(2)], inputShape: [6, 6], seed: 1 }, { backend: 'ts' });
    expect(() => toOnnx({ ...model.config, weights: model.getWeights() })).toThrow(/^cannot export: getWeights\(\) holds the dense layers only; pass the Model itself \(toTfjs\(model\)\) or \{ model, inputScale, tensors: model\.getLayerTensors\(\) \}$/);
    expect(toOnnx(model).length).toBeGreaterThan(0);
  });

  it('tensors that do not match the layers are refused', () => {
    const net = randomNet([8, 8], [conv(2, [3, 3], 1, 'valid'), { type: 'flatten' }, { type: 'dense', units: 2, activation: 'linear' }], 'ce', 1);
    net.tensors['layers.0.W'] = new Float32Array(5);
    expect(() => toOnnx(net)).toThrow(/^cannot export: layer 1 \(conv2d\): its W should hold 3x3x1x2 values, it holds 5$/);
    const net2 = randomNet([8, 8], [conv(2, [9, 9], 1, 'valid'), { type: 'flatten' }, { type: 'dense', units: 2, activation: 'linear' }], 'ce', 1);
    expect(() => toTfjs(net2)).toThrow(/^cannot export: layer 1 \(conv2d\): a 9x9 kernel does not fit a 8x8 input$/);
  });
});

describe('tfjs import fuzzing: a mangled CNN model.json is a network or one line, never a crash', () => {
  it('300 seeded mutations of the layer configs and the manifest; what is accepted, simdnet builds and runs', async () => {
    const net = randomNet([12, 10], [conv(4, [3, 2], 2, 'same', 'relu'), bn, pool('avgpool2d', 2, 1, 'same'), pool('maxpool2d', 2, 2, 'valid'), { type: 'flatten' }, { type: 'dense', units: 3, activation: 'linear' }], 'ce', 21);
    const { modelJson, weightsBin } = toTfjs(net);
    const rng = new Rng(20261207);
    const nasty: unknown[] = [0, -1, 1, 2, 3, 1.5, 1e9, NaN, null, undefined, 'x', 'same', 'valid', 'channels_first', 'softmax', 'elu', true, [], [1], [2, 2], [0, 3], [1, 2], [2, 2, 2], [null, 12, 10, 1], {}];
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rng.float() * a.length)];
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const json = JSON.parse(JSON.stringify(modelJson));
      const layers = json.modelTopology.config.layers;
      for (let m = 0; m < 1 + Math.floor(rng.float() * 3); m++) {
        const r = rng.float();
        if (r < 0.7) {
          const c = pick(layers as { config: Record<string, unknown> }[]).config;
          c[pick([...Object.keys(c), 'strides', 'kernel_size', 'pool_size', 'axis', 'units', 'filters', 'activation', 'batch_input_shape'])] = pick(nasty);
        } else if (r < 0.85) {
          const w = pick(json.weightsManifest[0].weights as { shape: number[]; name: string }[]);
          if (rng.float() < 0.5) w.shape = pick([[1], [3, 2, 1, 4], [4], [0], [2, 2]]);
          else w.name = pick(['x/kernel', 'conv2d_1/bias', 'dense_1/kernel']);
        } else if (r < 0.95) layers.splice(Math.floor(rng.float() * layers.length), 1);
        else layers.push(pick(layers));
      }
      try {
        const back = fromTfjs(json, weightsBin, 'm.json');
        accepted++;
        // what the import accepts, simdnet builds and runs
        const model = await Model.create({ layers: back.model.layers, inputShape: back.model.input, loss: back.model.loss, inputScale: back.inputScale }, { backend: 'ts' });
        model.setLayerTensors(back.tensors);
        const p = model.predict(new Uint8Array(2 * 120).fill(200), 2);
        expect(p.every(Number.isFinite)).toBe(true);
        model.dispose();
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        expect((e as Error).message).toMatch(/^m\.json: [^\n]+$/);
      }
    }
    console.log(`tfjs import fuzzing: ${accepted} of 300 mutated models accepted (the rest refused in one line)`);
  });
});
