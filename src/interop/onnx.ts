/**
 * ONNX export of any exportable network, written by a small protobuf encoder (no dependency).
 * Pure: no Node imports.
 */
import { conv2dShape } from '../core/backend.js';
import { exportableNet, f32Bytes, plan, product, unitInputTensors, type Exportable } from './net.js';

/** a minimal protobuf writer: varints (non-negative), length-delimited fields, fixed32 floats */
class Pb {
  private parts: Uint8Array[] = [];
  private size = 0;
  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  private varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`protobuf varint out of range: ${n}`);
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    return this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  int(field: number, n: number): this {
    return this.tag(field, 0).varint(n);
  }
  bytes(field: number, b: Uint8Array): this {
    return this.tag(field, 2).varint(b.length).push(b);
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }
  float(field: number, x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return this.tag(field, 5).push(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const ONNX_FLOAT = 1; // TensorProto.DataType.FLOAT
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 13;

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9) */
function tensorProto(name: string, dims: number[], data: Float32Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  return t.int(2, ONNX_FLOAT).string(8, name).bytes(9, f32Bytes([data]));
}

/** ValueInfoProto: name (1), type (2) -> TypeProto.tensor_type (1) -> elem_type (1), shape (2) -> dim (1) -> dim_value (1) | dim_param (2) */
function valueInfo(name: string, dims: (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().string(2, d));
  const tensorType = new Pb().int(1, ONNX_FLOAT).message(2, shape);
  return new Pb().string(1, name).message(2, new Pb().message(1, tensorType));
}

/**
 * NodeProto: input (1), output (2), name (3), op_type (4), attribute (5). AttributeProto: name (1),
 * f (2), i (3), ints (8), type (20): FLOAT 1, INT 2, INTS 7. `attrs` numbers are INT, arrays INTS;
 * `floats` are FLOAT.
 */
function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Record<string, number | number[]> = {}, floats: Record<string, number> = {}): Pb {
  const n = new Pb();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attrs)) {
    const a = new Pb().string(1, k);
    if (Array.isArray(v)) {
      for (const x of v) a.int(8, x);
      a.int(20, 7);
    } else a.int(3, v).int(20, 2);
    n.message(5, a);
  }
  for (const [k, v] of Object.entries(floats)) n.message(5, new Pb().string(1, k).float(2, v).int(20, 1));
  return n;
}

const ONNX_OPS: Record<string, string> = { sigmoid: 'Sigmoid', relu: 'Relu', tanh: 'Tanh', softmax: 'Softmax' };

/** explicit ONNX pads [top, left, bottom, right] for simdnet's padding (src/backend.ts conv2dShape: the odd pixel goes bottom/right) */
function onnxPads(H: number, W: number, KH: number, KW: number, S: number, same: boolean): number[] {
  const { OH, OW, PT, PL } = conv2dShape(H, W, KH, KW, S, same);
  if (!same) return [0, 0, 0, 0];
  const totalH = Math.max((OH - 1) * S + KH - H, 0), totalW = Math.max((OW - 1) * S + KW - W, 0);
  return [PT, PL, totalH - PT, totalW - PL];
}

/**
 * An ONNX model (IR version 8, opset 13) equivalent to simdnet's predict on [0, 1] pixels: input
 * `pixels`, [N, H, W, C] (NHWC) for an image input or [N, features], output `probabilities`
 * [N, classes]. Image layers run in ONNX's NCHW: a Transpose after the input, Conv (weights OIHW)
 * with explicit pads, MaxPool, AveragePool (count_include_pad 0: the mean of the window's pixels
 * inside the image, as simdnet's), GlobalAveragePool, BatchNormalization (kept as its own node);
 * before a Flatten or Gemm a Transpose back to NHWC, so the flattened order and the dense weights are
 * simdnet's. Dense layers are Gemm (X·W + b, W [inputs, outputs]); dropout is left out.
 */
export function toOnnx(m: Exportable, options: { producerVersion?: string } = {}): Uint8Array {
  const net = exportableNet(m);
  const p = plan(net);
  const tensors = unitInputTensors(p, net.inputScale);
  const graph = new Pb();
  const inits: Pb[] = [];
  let x = 'pixels', nchw = false, k = 0;
  /** a node whose output is a new value, which becomes x */
  const op = (type: string, name: string, inputs: string[], attrs: Record<string, number | number[]> = {}, floats: Record<string, number> = {}) => {
    const y = `${name}_${++k}`;
    graph.message(1, node(type, `${name}_${k}`, [x, ...inputs], [y], attrs, floats));
    x = y;
  };
  const init = (name: string, dims: number[], data: Float32Array) => {
    inits.push(tensorProto(name, dims, data));
    return name;
  };
  const act = (a: string, name: string) => {
    if (a !== 'linear') op(ONNX_OPS[a], `${name}_${a}`, []);
  };
  if (p.image) {
    op('Transpose', 'to_nchw', [], { perm: [0, 3, 1, 2] });
    nchw = true;
  }
  /** back to NHWC and flattened: simdnet's flatten order */
  const flat = () => {
    if (!nchw) return;
    op('Transpose', 'to_nhwc', [], { perm: [0, 2, 3, 1] });
    op('Flatten', 'flatten', [], { axis: 1 });
    nchw = false;
  };
  for (const s of p.steps) {
    const d = s.layer, t = tensors[s.index], L = `layer${s.index + 1}`;
    switch (d.type) {
      case 'dense':
        flat();
        op('Gemm', `${L}_gemm`, [init(`${L}.W`, [product(s.inShape), d.units], t.W), init(`${L}.b`, [d.units], t.b)]);
        act(d.activation, L);
        break;
      case 'conv2d': {
        const [H, W, C] = s.inShape, [KH, KW] = d.kernel, F = d.filters;
        const oihw = new Float32Array(t.W.length);
        for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let c = 0; c < C; c++) for (let o = 0; o < F; o++) oihw[((o * C + c) * KH + kh) * KW + kw] = t.W[((kh * KW + kw) * C + c) * F + o];
        op('Conv', `${L}_conv`, [init(`${L}.W`, [F, C, KH, KW], oihw), init(`${L}.b`, [F], t.b)], {
          kernel_shape: [KH, KW], strides: [d.stride, d.stride], pads: onnxPads(H, W, KH, KW, d.stride, d.padding === 'same'), dilations: [1, 1], group: 1,
        });
        act(d.activation, L);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const [H, W] = s.inShape;
        const attrs: Record<string, number | number[]> = { kernel_shape: [d.size, d.size], strides: [d.stride, d.stride], pads: onnxPads(H, W, d.size, d.size, d.stride, d.padding === 'same') };
        if (d.type === 'avgpool2d') op('AveragePool', `${L}_avgpool`, [], { ...attrs, count_include_pad: 0 });
        else op('MaxPool', `${L}_maxpool`, [], attrs);
        break;
      }
      case 'globalavgpool':
        op('GlobalAveragePool', `${L}_globalavgpool`, []);
        op('Flatten', `${L}_flatten`, [], { axis: 1 }); // (N, C, 1, 1) -> (N, C)
        nchw = false;
        break;
      case 'flatten':
        flat();
        break;
      case 'batchnorm': {
        const C = s.inShape[s.inShape.length - 1];
        // the channel axis is 1 in both layouts here: NCHW images, (N, features) vectors
        op('BatchNormalization', `${L}_batchnorm`, [init(`${L}.gamma`, [C], t.gamma), init(`${L}.beta`, [C], t.beta), init(`${L}.mean`, [C], t.mean), init(`${L}.variance`, [C], t.variance)], {}, { epsilon: d.epsilon, momentum: d.momentum });
        break;
      }
      case 'activation':
        act(d.activation, L);
        break;
      case 'dropout':
        break; // identity in evaluation
    }
  }
  flat();
  const outAct = p.loss === 'ce' ? 'softmax' : 'sigmoid';
  graph.message(1, node(ONNX_OPS[outAct], outAct, [x], ['probabilities'], outAct === 'softmax' ? { axis: 1 } : {}));
  graph.string(2, 'simdnet');
  for (const t of inits) graph.message(5, t);
  const classes = product(p.steps[p.steps.length - 1].outShape);
  const inDims = p.image ? ['N', ...p.input] : ['N', p.input[0]];
  graph.string(10, `simdnet ${p.steps.map((s) => s.layer.type).join(', ')}; input: pixels ${p.image ? '[N, H, W, C]' : '[N, features]'} scaled to [0, 1]; output: ${p.loss === 'ce' ? 'softmax probabilities' : 'sigmoid outputs'}`);
  graph.message(11, valueInfo('pixels', inDims));
  graph.message(12, valueInfo('probabilities', ['N', classes]));
  // ModelProto: ir_version (1), producer_name (2), producer_version (3), graph (7), opset_import (8) -> domain (1), version (2)
  const model = new Pb().int(1, ONNX_IR_VERSION).string(2, 'simdnet').string(3, options.producerVersion ?? '0').message(7, graph).message(8, new Pb().string(1, '').int(2, ONNX_OPSET));
  return model.finish();
}
