/**
 * A CNN forward composed from the TS reference kernels (src/backends/ts: conv, pooling, batch norm;
 * NHWC, weights HWIO): what simdnet's predict computes for an exportable layer list, written
 * independently of the exporters (its own shape walk, its own dense and activations). The interop
 * tests compare the tfjs and ONNX exports with it, beside simdnet's Model.
 */
import { conv2dShape } from '../../src/core/backend.js';
import { conv2dForwardRef } from '../../src/backends/ts/conv-reference.js';
import { avgpool2dForwardRef, globalAvgpoolForwardRef, maxpool2dForwardRef } from '../../src/backends/ts/pool-reference.js';
import { batchnormForwardRef } from '../../src/backends/ts/batchnorm.js';
import type { ExportableNet } from '../../src/interop/interop.js';

const f = Math.fround;

function activate(x: Float32Array, a: string): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = a === 'relu' ? (v > 0 ? v : 0) : a === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : a === 'tanh' ? Math.tanh(v) : v;
  }
}

/** simdnet's outputs (softmax probabilities for ce, sigmoid for mse) for B u8 images of net.model.input */
export function referencePredict(net: ExportableNet, images: Uint8Array, B: number): Float32Array {
  const inp = net.model.input;
  let shape = inp.length === 2 ? [inp[0], inp[1], 1] : inp.slice();
  let x = new Float32Array(images.length);
  for (let i = 0; i < x.length; i++) x[i] = images[i] * net.inputScale;
  net.model.layers.forEach((d, l) => {
    const t = Object.fromEntries(Object.entries(net.tensors).filter(([k]) => k.startsWith(`layers.${l}.`)).map(([k, v]) => [k.slice(`layers.${l}.`.length), v]));
    switch (d.type) {
      case 'dense': {
        const I = shape.reduce((a, b) => a * b, 1), O = d.units, y = new Float32Array(B * O);
        for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) {
          let a = t.b[o];
          for (let i = 0; i < I; i++) a = f(a + f(x[b * I + i] * t.W[i * O + o]));
          y[b * O + o] = a;
        }
        activate(y, d.activation);
        (x = y), (shape = [O]);
        break;
      }
      case 'conv2d': {
        const [H, W, C] = shape, [KH, KW] = d.kernel, same = d.padding === 'same';
        const { OH, OW } = conv2dShape(H, W, KH, KW, d.stride, same);
        const y = new Float32Array(B * OH * OW * d.filters);
        conv2dForwardRef(y, x, t.W, t.b, B, H, W, C, d.filters, KH, KW, d.stride, same, 0);
        activate(y, d.activation);
        (x = y), (shape = [OH, OW, d.filters]);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const [H, W, C] = shape, same = d.padding === 'same';
        const { OH, OW } = conv2dShape(H, W, d.size, d.size, d.stride, same);
        const y = new Float32Array(B * OH * OW * C);
        if (d.type === 'maxpool2d') maxpool2dForwardRef(y, new Int32Array(y.length), x, B, H, W, C, d.size, d.stride, same);
        else avgpool2dForwardRef(y, x, B, H, W, C, d.size, d.stride, same);
        (x = y), (shape = [OH, OW, C]);
        break;
      }
      case 'globalavgpool': {
        const [H, W, C] = shape, y = new Float32Array(B * C);
        globalAvgpoolForwardRef(y, x, B, H * W, C);
        (x = y), (shape = [C]);
        break;
      }
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'batchnorm': {
        const C = shape[shape.length - 1], N = x.length / C, y = new Float32Array(x.length);
        batchnormForwardRef(y, new Float32Array(C), new Float32Array(C), t.mean.slice(), t.variance.slice(), x, t.gamma, t.beta, N, C, d.epsilon, d.momentum, false);
        x = y;
        break;
      }
      case 'activation':
        activate(x, d.activation);
        break;
      case 'dropout':
        break;
    }
  });
  const K = x.length / B;
  if (net.model.loss === 'mse') {
    activate(x, 'sigmoid');
    return x;
  }
  for (let b = 0; b < B; b++) {
    let m = -Infinity, s = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, x[b * K + k]);
    for (let k = 0; k < K; k++) s += Math.exp(x[b * K + k] - m);
    for (let k = 0; k < K; k++) x[b * K + k] = Math.exp(x[b * K + k] - m) / s;
  }
  return x;
}
