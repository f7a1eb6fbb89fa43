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
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../src/io/mnist.js';
import { Rng } from '../src/core/rng.js';
import { conv2dShape } from '../src/core/backend.js';
import { fromTfjs, toOnnx, toTfjs, describeNet, type ExportableNet, type NetLayer } from '../src/interop/interop.js';
import { referencePredict } from './helpers/cnn-reference.js';

const N = 200;
let mnist: { images: Uint8Array; labels: Uint8Array };

beforeAll(async () => {
  await tf.setBackend('cpu');
  const data = loadMnist();
  mnist = { images: data.test.images.subarray(0, N * 784), labels: data.test.labels.subarray(0, N) };
});

/** every layer's tensors, seeded: weights at the scale of a He init, batch-norm statistics far from (0, 1) */
function randomNet(input: number[], layers: NetLayer[], loss: 'ce' | 'mse', seed: number, inputScale = 1 / 255): ExportableNet {
  const rng = new Rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.float();
  let shape = input.length === 2 ? [input[0], input[1], 1] : input.slice();
  const tensors = layers.map((d) => {
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
  return { model: { input, layers, loss }, inputScale, tensors };
}

const conv = (filters: number, kernel: [number, number], stride: number, padding: 'valid' | 'same', activation: 'relu' | 'tanh' | 'sigmoid' | 'linear' = 'linear'): NetLayer => ({ type: 'conv2d', filters, kernel, stride, padding, activation });
const pool = (type: 'maxpool2d' | 'avgpool2d', size: number, stride: number, padding: 'valid' | 'same'): NetLayer => ({ type, size, stride, padding });
const bn: NetLayer = { type: 'batchnorm', momentum: 0.99, epsilon: 0.001 };

/** the nets: names say what each covers that the others do not */
const NETS: { name: string; net: () => ExportableNet; images: () => { x: Uint8Array; labels?: Uint8Array; n: number } }[] = [
  {
    name: 'MNIST: conv valid + bn + maxpool, conv 2x3 stride 2 same (odd pad right), tanh, avgpool 2 stride 1 same, maxpool same on 7x7, flatten, dropout, dense relu + bn, dense',
    net: () => randomNet([28, 28], [conv(6, [3, 3], 1, 'valid', 'relu'), bn, pool('maxpool2d', 2, 2, 'valid'), conv(8, [2, 3], 2, 'same'), { type: 'activation', activation: 'tanh' }, pool('avgpool2d', 2, 1, 'same'), pool('maxpool2d', 2, 2, 'same'), { type: 'flatten' }, { type: 'dropout', rate: 0.3 }, { type: 'dense', units: 16, activation: 'relu' }, bn, { type: 'dense', units: 10, activation: 'linear' }], 'ce', 11),
    images: () => ({ x: mnist.images, labels: mnist.labels, n: N }),
  },
  {
    name: 'MNIST: conv 5x5 stride 2 same (odd pad bottom/right), avgpool 3 stride 2 same, bn, conv sigmoid, globalavgpool, dense',
    net: () => randomNet([28, 28], [conv(8, [5, 5], 2, 'same', 'relu'), pool('avgpool2d', 3, 2, 'same'), bn, conv(12, [3, 3], 1, 'valid', 'sigmoid'), { type: 'globalavgpool' }, { type: 'dense', units: 10, activation: 'linear' }], 'ce', 12),
    images: () => ({ x: mnist.images, labels: mnist.labels, n: N }),
  },
  {
    name: '9x7x3 synthetic, inputScale 2/255 folded into the conv, conv 2x3 stride 2 same tanh, dense reading the conv output unflattened, maxpool 3 stride 2 same, mse',
    net: () => randomNet([9, 7, 3], [conv(5, [2, 3], 2, 'same', 'tanh'), pool('maxpool2d', 3, 2, 'same'), { type: 'dense', units: 6, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 4, activation: 'linear' }], 'mse', 1, 2 / 255),
    images: () => {
      // per image and channel a random ramp plus noise, clipped to [0, 255] (zeros included)
      const rng = new Rng(5), n = 64, x = new Uint8Array(n * 9 * 7 * 3);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) {
        const a = rng.float() * 400 - 150, dh = rng.float() * 60 - 30, dw = rng.float() * 60 - 30;
        for (let h = 0; h < 9; h++) for (let w = 0; w < 7; w++) x[((i * 9 + h) * 7 + w) * 3 + c] = Math.max(0, Math.min(255, Math.round(a + dh * h + dw * w + rng.float() * 40 - 20)));
      }
      return { x, n };
    },
  },
];

/** the network without its flatten layers */
function withoutFlatten(net: ExportableNet): ExportableNet {
  const keep = net.model.layers.map((d) => d.type !== 'flatten');
  return { ...net, model: { ...net.model, layers: net.model.layers.filter((_, i) => keep[i]) }, tensors: net.tensors.filter((_, i) => keep[i]) };
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

async function tfjsPredict(art: ReturnType<typeof toTfjs>, x: Float32Array, dims: number[]): Promise<Float32Array> {
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
  it.each(NETS)('$name', async ({ net: make, images }) => {
    const net = make();
    const { x, labels, n } = images();
    const ours = referencePredict(net, x, n);
    const pixels = unitPixels(x), dims = inputDims(net, n);

    const art = toTfjs(net);
    const tfOut = await tfjsPredict(art, pixels, dims);
    const onnxOut = await onnxPredict(toOnnx(net), pixels, dims);
    const tfDiff = maxAbsDiff(tfOut, ours), onnxDiff = maxAbsDiff(onnxOut, ours);
    const classes = argmax(ours, n);
    let acc = '';
    if (labels) {
      const hits = (c: number[]) => c.filter((k, i) => k === labels[i]).length;
      acc = `, accuracy ${hits(classes)}/${n} (tfjs ${hits(argmax(tfOut, n))}, onnx ${hits(argmax(onnxOut, n))})`;
    }
    console.log(`${describeNet(net)}: max |tfjs - simdnet| ${tfDiff.toExponential(2)}, max |onnx - simdnet| ${onnxDiff.toExponential(2)} over ${n} inputs${acc}`);
    expect(tfDiff).toBeLessThanOrEqual(1e-5);
    expect(onnxDiff).toBeLessThanOrEqual(1e-5);
    expect(argmax(tfOut, n)).toEqual(classes);
    expect(argmax(onnxOut, n)).toEqual(classes);
    // the outputs spread over the classes (a test of saturated outputs would prove little)
    expect(new Set(classes).size).toBeGreaterThan(1);

    // the tfjs import of the export is the same network: same layers (up to flatten layers, a
    // no-op view in simdnet, which the export adds before a dense that reads an image), same tensors
    // (the input scale folded into the first layer with weights)
    const back = fromTfjs(JSON.parse(JSON.stringify(art.modelJson)), art.weightsBin);
    const a = withoutFlatten(back), b = withoutFlatten(net);
    expect(a.model).toEqual(b.model);
    const k = net.inputScale * 255, first = b.model.layers.findIndex((d) => d.type === 'conv2d' || d.type === 'dense');
    a.tensors.forEach((t, l) => {
      expect(Object.keys(t).sort()).toEqual(Object.keys(b.tensors[l]).sort());
      for (const [name, v] of Object.entries(t)) expect(Array.from(v)).toEqual(Array.from(b.tensors[l][name], (w) => (l === first && name === 'W' && k !== 1 ? Math.fround(w * k) : w)));
    });
    const again = referencePredict(back, x, n);
    expect(maxAbsDiff(again, ours)).toBeLessThanOrEqual(k === 1 ? 0 : 1e-6);
    expect(argmax(again, n)).toEqual(classes);
  });
});
