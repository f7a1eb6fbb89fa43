/**
 * Seeded fuzzing of every untrusted-file parser: IDX (raw via parseIdx, raw and gzip via
 * readIdxFile) and model files (decodeModel, with and without a re-signed CRC so mutations reach
 * the header and tensor checks). Each case must end in a valid result or a one-line DataError;
 * anything else (another exception, a multi-line message, a case that runs for seconds, memory far
 * beyond the file's size) fails with the seed and case number so it can be replayed.
 *
 * SIMDNET_FUZZ_CASES=N raises the case count (default 5000); SIMDNET_FUZZ_SEED picks the seed.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { decodeModel, encodeModel } from '../src/format/format.js';
import { activation, batchNorm, buildLayers, conv2d, dense, dropout, flatten, globalAvgPool, maxPool2d, avgPool2d } from '../src/nn/layers.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/format/checkpoint.js';
import { parseIdx } from '../src/format/idx.js';
import { readIdxFile } from '../src/io/mnist.js';
import { Rng } from '../src/core/rng.js';
import { fromTfjs, toTfjs } from '../src/interop/interop.js';
import { encodeIdx, tempDir } from './helpers/idx-fixtures.js';
import { resign, withHeader } from './helpers/file-header.js';

const CASES = Number(process.env.SIMDNET_FUZZ_CASES ?? 5000);
const SEED = Number(process.env.SIMDNET_FUZZ_SEED ?? 20261128);
/** a case taking this long is a hang (real cases take well under a millisecond) */
const CASE_LIMIT_MS = 5000;

const tmp = tempDir('simdnet-fuzz-');
afterAll(() => tmp.remove());

type Mutation = (b: Uint8Array, r: Rng) => Uint8Array;

const mutations: Record<string, Mutation> = {
  bitflip(b, r) {
    const out = b.slice();
    const flips = 1 + r.int(4);
    for (let i = 0; i < flips && out.length; i++) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  byte(b, r) {
    const out = b.slice();
    if (out.length) out[r.int(out.length)] = r.int(256);
    return out;
  },
  truncate(b, r) {
    // every boundary kind: inside the magic, the dims/header length, the header, the data, the last byte
    const cuts = [0, 1, 2, 3, 4, 7, 8, 11, 12, 15, 16, 20, b.length >> 1, b.length - 5, b.length - 4, b.length - 1];
    const at = r.int(2) ? cuts[r.int(cuts.length)] : r.int(b.length + 1);
    return b.slice(0, Math.max(0, Math.min(b.length, at)));
  },
  garbage(b, r) {
    const extra = new Uint8Array(1 + r.int(64));
    for (let i = 0; i < extra.length; i++) extra[i] = r.int(256);
    const out = new Uint8Array(b.length + extra.length);
    out.set(b);
    out.set(extra, b.length);
    return out;
  },
  inflateSize(b, r) {
    // overwrite a 32-bit size field (IDX dims at 4.., model header length at 12) with a huge or off-by-one value
    const out = b.slice();
    if (out.length < 16) return out;
    const dv = new DataView(out.buffer);
    const field = 4 + 4 * r.int(3);
    const cur = dv.getUint32(field, false);
    const vals = [0xffffffff, 0x7fffffff, 0x10000000, cur + 1, cur * 2, cur - 1 >>> 0, 0];
    dv.setUint32(field, vals[r.int(vals.length)] >>> 0, r.int(2) === 1);
    return out;
  },
  magic(b, r) {
    const out = b.slice();
    if (out.length < 4) return out;
    out[r.int(4)] = r.int(256); // magic bytes / IDX type code and dimension count
    return out;
  },
  dtype(b, r) {
    const out = b.slice();
    if (out.length > 3) out[2] = [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff, r.int(256)][r.int(9)];
    if (out.length > 3 && r.int(2)) out[3] = r.int(256);
    return out;
  },
  empty() {
    return new Uint8Array(0);
  },
};

function pick<T>(r: Rng, xs: T[]): T {
  return xs[r.int(xs.length)];
}

/** valid seeds: several dtypes and ranks of IDX files */
function idxSeeds(r: Rng): Uint8Array[] {
  const rand = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + r.int(hi - lo + 1));
  return [
    encodeIdx('u8', [7, 3, 4], rand(84, 0, 255)),
    encodeIdx('u8', [11], rand(11, 0, 9)),
    encodeIdx('i8', [5, 2], rand(10, -128, 127)),
    encodeIdx('i16', [3, 3], rand(9, -3000, 3000)),
    encodeIdx('i32', [4], rand(4, -100000, 100000)),
    encodeIdx('f32', [2, 5], rand(10, -50, 50).map((x) => x / 7)),
    encodeIdx('f64', [3], [0.5, -1e300, 3]),
  ];
}

function modelSeeds(r: Rng): Uint8Array[] {
  const w = (n: number) => Float32Array.from({ length: n }, () => r.float() * 2 - 1);
  const m1 = { layers: [6, 4, 3], activations: ['relu', 'linear'] as any, loss: 'ce' as const, inputScale: 1 / 255, imageShape: [2, 3] };
  const m2 = { layers: [5, 2], activations: ['linear'] as any, loss: 'mse' as const, inputScale: 1, imageShape: [5] };
  const m3 = { model: { input: [2, 3], layers: [dense(4, 'tanh'), dropout(0.5), dense(3), activation('relu'), dense(2)], loss: 'ce' as const }, inputScale: 1 / 255 };
  // CNNs: NHWC input with channels, conv same/valid and stride, pooling, batch norm (buffers), both heads
  const c1 = { model: { input: [6, 5, 2], layers: [conv2d(3, [2, 3], { padding: 'same', activation: 'relu' }), batchNorm(), maxPool2d(2), conv2d(4, 1, { stride: 2 }), flatten(), dense(3)], loss: 'ce' as const }, inputScale: 1 / 255 };
  const c2 = { model: { input: [7, 7], layers: [conv2d(2, 3, { stride: 2 }), avgPool2d(2, { padding: 'same' }), globalAvgPool(), batchNorm({ momentum: 0.9 }), dense(2)], loss: 'ce' as const }, inputScale: 1 / 255 };
  const named = (m: typeof c1 | typeof c2) => {
    const t: Record<string, Float32Array> = {};
    for (const l of buildLayers(m.model)) for (const s of [...l.params, ...l.buffers]) t[`layers.${l.index}.${s.name}`] = s.name === 'variance' ? w(s.shape.reduce((a, b) => a * b, 1)).map(Math.abs) : w(s.shape.reduce((a, b) => a * b, 1));
    return t;
  };
  return [
    encodeModel(c1, named(c1)),
    encodeModel(c2, named(c2), { cnn: true }),
    encodeModel(m1, [{ W: w(24), b: w(4) }, { W: w(12), b: w(3) }], { epochs: 2 }),
    encodeModel(m2, [{ W: w(10), b: w(2) }]),
    encodeModel(m3, [{ W: w(24), b: w(4) }, { W: w(12), b: w(3) }, { W: w(6), b: w(2) }]),
    // a version 1 file, written by simdnet 0.1.0
    new Uint8Array(readFileSync(new URL('./fixtures/v1-model.simdnet', import.meta.url))),
  ];
}

function checkpointSeed(r: Rng): Uint8Array {
  const order = Int32Array.from({ length: 9 }, (_, i) => i);
  r.shuffle(order);
  return encodeCheckpoint({
    settings: { model: { input: [4], layers: [{ type: 'dense', units: 3, activation: 'relu' }, { type: 'dense', units: 2, activation: 'linear' }], loss: 'ce' }, optimizer: 'adam', learningRate: 0.01, momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, batchSize: 4, shuffle: true, seed: 1, samples: 9, backend: 'ts' },
    epochsDone: 1, batchInEpoch: 2, step: 5, rng: [1, 2, 3, 4], lossSum: 3.5, correct: 4,
    params: Float32Array.from({ length: 28 }, () => r.float()), opt: [new Float32Array(28).fill(0.1), new Float32Array(28).fill(0.2)], order,
  });
}

/** re-encode a file with its JSON header edited by `edit` (with the case's rng) */
const rewriteHeader = (bytes: Uint8Array, edit: (h: any, r: Rng) => void, r: Rng): Uint8Array => withHeader(bytes, (h) => edit(h, r));

const int32 = (r: Rng) => [0, 1, 2, 3, 5, 7, 9, 100, -1, 2 ** 31][r.int(10)];
/**
 * edits that keep a header valid JSON but may make it contradict itself or its tensors (issue 23
 * item 10): the parsers must refuse each contradiction with one line, never accept it
 */
const headerEdits: Record<string, (h: any, r: Rng) => void> = {
  classes: (h, r) => { h.classes = int32(r); },
  imageShape: (h, r) => { h.imageShape = [int32(r), int32(r)]; },
  layers: (h, r) => { h.layers = h.layers?.map((n: number) => (r.int(2) ? n : int32(r))); },
  modelInput: (h, r) => { if (h.model) h.model.input = [int32(r), int32(r)]; },
  modelUnits: (h, r) => { const l = h.model?.layers[r.int(h.model.layers.length)]; if (l) l.units = int32(r); },
  modelLayer: (h, r) => { if (h.model) h.model.layers[r.int(h.model.layers.length)] = pick(r, [{ type: 'dropout', rate: 2 }, { type: 'dense' }, { type: 'activation', activation: 'swish' }, null, 3, { type: 'conv2d', filters: 2, kernel: 3 }, { type: 'maxpool2d', size: 2 }, { type: 'flatten' }, { type: 'globalavgpool' }, { type: 'batchnorm', momentum: 0.99, epsilon: 0.001 }, { type: 'batchnorm', momentum: 1 }, { type: 'avgpool2d', size: 9, padding: 'full' }]); },
  // CNN fields: kernel sizes, filters (channels), strides and windows, from plausible to absurd
  modelInputChannels: (h, r) => { if (h.model) h.model.input = [int32(r), int32(r), pick(r, [1, 2, 3, 17, 2 ** 24, 0])]; },
  modelKernel: (h, r) => { const l = h.model?.layers.find((x: any) => x?.type === 'conv2d'); if (l) l.kernel = pick(r, [[int32(r), int32(r)], int32(r), [3], [4096, 4096], 'x', null]); },
  modelFilters: (h, r) => { const l = h.model?.layers.find((x: any) => x?.type === 'conv2d'); if (l) l.filters = pick(r, [int32(r), 2 ** 24, 2 ** 24 + 1, 1.5]); },
  modelWindow: (h, r) => { const l = h.model?.layers.find((x: any) => x?.type === 'maxpool2d' || x?.type === 'avgpool2d' || x?.type === 'conv2d'); if (l) { if (r.int(2)) l.stride = int32(r); else if (l.size !== undefined) l.size = int32(r); else l.padding = pick(r, ['same', 'valid', 'full']); } },
  modelHuge: (h) => { if (h.model) h.model.layers.unshift({ type: 'conv2d', filters: 2 ** 24, kernel: [4096, 4096], stride: 1, padding: 'same', activation: 'linear' }); },
  tensorOffset: (h, r) => { const t = h.tensors[r.int(h.tensors.length)]; t.offset = r.int(2) ? 0 : 4 * r.int(40); },
  tensorShape: (h, r) => { const t = h.tensors[r.int(h.tensors.length)]; t.shape = t.shape.slice().reverse(); if (r.int(2)) t.shape.push(1); },
  tensorName: (h, r) => { const t = h.tensors[r.int(h.tensors.length)]; t.name = pick(r, ['layers.0.W', 'layers.0.b', 'layers.7.W', 'params', 'order', 'opt.0', 'x']); },
  batchInEpoch: (h, r) => { h.batchInEpoch = int32(r); },
  batchSize: (h, r) => { if (h.settings) h.settings.batchSize = int32(r); },
  rng: (h, r) => { h.rng = r.int(2) ? [0, 0, 0, 0] : [int32(r), 0, 0, 0]; },
  correct: (h, r) => { h.correct = int32(r); },
};

/** what a decoded model or checkpoint must satisfy whenever the parser accepts it */
function consistentModel(m: ReturnType<typeof decodeModel>): void {
  // every layer's parameters and buffers are there, of their spec's size, and nothing else
  const want = new Map<string, number>();
  for (const l of buildLayers(m.description)) for (const t of [...l.params, ...l.buffers]) want.set(`layers.${l.index}.${t.name}`, t.shape.reduce((a, b) => a * b, 1));
  const names = Object.keys(m.tensors);
  if (names.length !== want.size || names.some((n) => m.tensors[n].length !== want.get(n))) throw new Error(`accepted tensors ${names.join(', ')} for ${[...want.keys()].join(', ')}`);
  for (const n of names) if (n.endsWith('.variance') && m.tensors[n].some((v) => !(v >= 0))) throw new Error(`accepted a running variance below 0 in ${n}`);
  // each dense layer's weights take the outputs of the layer before, flattened (the input for the first)
  let k = 0;
  for (const l of buildLayers(m.description)) {
    if (l.desc.type !== 'dense') continue;
    const n = l.inShape.reduce((a, b) => a * b, 1), w = m.weights[k++];
    if (!w || w.W.length !== n * l.desc.units || w.b.length !== l.desc.units) throw new Error(`accepted dense layer ${k} of the wrong size`);
  }
  if (k !== m.weights.length) throw new Error(`accepted ${m.weights.length} weight sets for ${k} dense layers`);
}
function consistentCheckpoint(c: ReturnType<typeof decodeCheckpoint>): void {
  if (c.rng.every((x) => x === 0)) throw new Error('accepted an all-zero rng state');
  if (c.batchInEpoch > Math.ceil(c.settings.samples / c.settings.batchSize)) throw new Error(`accepted batchInEpoch ${c.batchInEpoch}`);
}


interface Outcome {
  ok: number;
  dataErrors: number;
  maxMs: number;
  maxGrowth: number;
}

/** run one parser on one input; rethrow anything that is not a clean outcome, with replay info */
function runCase(tag: string, input: Uint8Array, parse: () => unknown, sizeBound: number, o: Outcome): void {
  const ab0 = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  let result: unknown;
  try {
    result = parse();
    o.ok++;
  } catch (e) {
    if (!(e instanceof DataError)) throw new Error(`${tag}: not a DataError: ${(e as Error)?.stack ?? e}`, { cause: e });
    if (e.message.includes('\n') || e.message.length === 0) throw new Error(`${tag}: DataError message is not one line: ${JSON.stringify(e.message)}`);
    o.dataErrors++;
  }
  const ms = performance.now() - t0;
  let grown = process.memoryUsage().arrayBuffers - ab0;
  o.maxMs = Math.max(o.maxMs, ms);
  if (ms > CASE_LIMIT_MS) throw new Error(`${tag}: took ${ms.toFixed(0)} ms (a hang)`);
  // retained ArrayBuffer memory must stay within a small multiple of the bytes involved (+64 KiB slack for the allocator)
  const bound = 8 * Math.max(input.length, sizeBound) + 65536;
  // over the bound before a collection may be garbage (zlib's sync inflate leaves a 16 KiB output
  // chunk per call): collect (vitest.config.ts starts workers with --expose-gc) and count what is retained
  // (twice when still over: V8 frees the backing stores of collected ArrayBuffers on a concurrent
  // sweeper, which a loaded machine can leave behind the first collection; the next one finishes it)
  for (let i = 0; i < 2 && grown > bound && globalThis.gc; i++) {
    globalThis.gc();
    grown = process.memoryUsage().arrayBuffers - ab0;
  }
  void result; // keep it alive while measuring
  o.maxGrowth = Math.max(o.maxGrowth, grown);
  if (grown > bound) throw new Error(`${tag}: ${grown} bytes of ArrayBuffer memory for a ${input.length}-byte input (bound ${bound})`);
}

describe(`fuzz (${CASES} cases, seed ${SEED})`, () => {
  it('IDX files (raw and gzip) and model files: valid result or one-line DataError, bounded time and memory', () => {
    const r = new Rng(SEED);
    const idx = idxSeeds(r);
    const models = modelSeeds(r);
    const ckpt = checkpointSeed(r);
    const names = Object.keys(mutations);
    const o: Outcome = { ok: 0, dataErrors: 0, maxMs: 0, maxGrowth: 0 };
    const kinds = { idxRaw: 0, idxGzip: 0, gzipStream: 0, model: 0, modelResigned: 0, modelHeader: 0, checkpoint: 0, checkpointHeader: 0 };
    const edits = Object.keys(headerEdits);
    // one gzip read before the cases: zlib's first use in a process allocates what later reads reuse,
    // which would count as the first gzip case's retained memory
    readIdxFile(tmp.write('warm.gz', gzipSync(idx[0])));
    const t0 = performance.now();
    for (let c = 0; c < CASES; c++) {
      const kind = c % 5;
      const m = pick(r, names);
      const tag = `seed ${SEED} case ${c} (${m})`;
      if (kind === 0) {
        // raw IDX bytes straight into the parser
        const seed = pick(r, idx);
        const input = mutations[m](seed, r);
        runCase(`${tag} idx raw`, input, () => parseIdx(input, 'fuzz.idx'), seed.length, o);
        kinds.idxRaw++;
      } else if (kind === 1) {
        // mutate the IDX, then gzip it: the gzip path must apply the same checks
        const seed = pick(r, idx);
        const input = gzipSync(mutations[m](seed, r));
        const path = tmp.write(`c${c}.gz`, input);
        runCase(`${tag} idx gzip`, input, () => readIdxFile(path), seed.length, o);
        kinds.idxGzip++;
      } else if (kind === 2) {
        // corrupt the gzip stream itself (header, deflate data, CRC/ISIZE trailer), or append garbage after it
        const seed = pick(r, idx);
        const input = mutations[m](gzipSync(seed), r);
        const path = tmp.write(`c${c}.gz`, input);
        runCase(`${tag} gzip stream`, input, () => readIdxFile(path), seed.length, o);
        kinds.gzipStream++;
      } else if (c % 10 === 9) {
        // checkpoint files: same container, different header checks (re-signed so they are reached);
        // half of them get a header edit that may contradict the rest
        if (r.int(2)) {
          const e = pick(r, edits);
          const input = rewriteHeader(ckpt, headerEdits[e], r);
          runCase(`${tag} checkpoint header ${e}`, input, () => consistentCheckpoint(decodeCheckpoint(input, 'fuzz.ckpt')), ckpt.length, o);
          kinds.checkpointHeader++;
        } else {
          const input = resign(mutations[m](ckpt, r));
          runCase(`${tag} checkpoint`, input, () => decodeCheckpoint(input, 'fuzz.ckpt'), ckpt.length, o);
          kinds.checkpoint++;
        }
      } else if (kind === 4 && r.int(2)) {
        const seed = pick(r, models);
        const e = pick(r, edits);
        const input = rewriteHeader(seed, headerEdits[e], r);
        runCase(`${tag} model header ${e}`, input, () => consistentModel(decodeModel(input, 'fuzz.simdnet')), seed.length, o);
        kinds.modelHeader++;
      } else {
        const seed = pick(r, models);
        const resigned = kind === 4;
        const input = mutations[m](seed, r);
        if (resigned) resign(input);
        runCase(`${tag} model${resigned ? ' resigned' : ''}`, input, () => decodeModel(input, 'fuzz.simdnet'), seed.length, o);
        if (resigned) kinds.modelResigned++;
        else kinds.model++;
      }
    }
    const ms = performance.now() - t0;
    console.log(
      `fuzz: ${CASES} cases in ${(ms / 1000).toFixed(2)} s (${JSON.stringify(kinds)}); ${o.ok} parsed, ${o.dataErrors} DataErrors; slowest case ${o.maxMs.toFixed(1)} ms; max ArrayBuffer growth in one case ${o.maxGrowth} bytes`,
    );
    expect(o.ok + o.dataErrors).toBe(CASES);
    expect(o.dataErrors).toBeGreaterThan(CASES / 4); // the mutations do reach the error paths
    expect(o.ok).toBeGreaterThan(0); // and some mutants (e.g. a flipped data bit) are still valid
  }, 300_000);
});

describe('self-contradicting headers with a valid CRC (issue 23 item 10)', () => {
  const r = new Rng(7);
  const ckpt = checkpointSeed(r);
  const cases: [string, (h: any) => void, RegExp][] = [
    ['batchInEpoch past the epoch', (h) => { h.batchInEpoch = 4; }, /corrupt checkpoint: it resumes at batch 5 of an epoch of 3 batches \(9 samples in batches of 4\)/],
    ['an all-zero random-number state', (h) => { h.rng = [0, 0, 0, 0]; }, /corrupt checkpoint: the random-number state is all zeros, the fixed point of xoshiro128\*\*/],
    ['a batch size of 0', (h) => { h.settings.batchSize = 0; }, /corrupt checkpoint: 9 samples in batches of 0/],
    ['more correct than trained', (h) => { h.correct = 9; }, /corrupt checkpoint: 9 correct predictions in the 2 batches/],
    ['overlapping tensors', (h) => { h.tensors[1].offset = 4; h.tensors[0].offset = 0; }, /corrupt header: tensors params and opt\.0 overlap|does not fit/],
  ];
  for (const [name, edit, re] of cases) {
    it(`a checkpoint with ${name} is refused with one line`, () => {
      expect(() => decodeCheckpoint(rewriteHeader(ckpt, edit, r), 'hand.ckpt')).toThrow(re);
    });
  }
  it('a tfjs Dense layer with use_bias: false whose manifest has a bias is refused (it was dropped), as is any weight no layer uses', () => {
    const m = { layers: [4, 3, 2], activations: ['relu' as const, 'linear' as const], loss: 'ce' as const, inputScale: 1 / 255, weights: [{ W: new Float32Array(12).fill(0.1), b: new Float32Array(3).fill(0.5) }, { W: new Float32Array(6).fill(0.1), b: new Float32Array(2) }] };
    const { modelJson, weightsBin } = toTfjs(m);
    const json = JSON.parse(JSON.stringify(modelJson));
    json.modelTopology.config.layers[0].config.use_bias = false;
    expect(() => fromTfjs(json, weightsBin, 'nobias/model.json')).toThrow(/^nobias\/model\.json: layer dense_1 has use_bias: false but the weights manifest has dense_1\/bias; fix use_bias or the manifest \(it would be dropped\)$/);
    const extra = JSON.parse(JSON.stringify(modelJson));
    extra.weightsManifest[0].weights.push({ name: 'dense_9/kernel', shape: [1], dtype: 'float32' });
    expect(() => fromTfjs(extra, new Uint8Array([...weightsBin, 0, 0, 0, 0]), 'extra/model.json')).toThrow(/the weights manifest has dense_9\/kernel, which no layer uses/);
    expect(fromTfjs(modelJson, weightsBin).model.layers).toEqual([{ type: 'dense', units: 3, activation: 'relu' }, { type: 'dense', units: 2, activation: 'linear' }]);
  });

  it('an epoch stopped after its last batch (batchInEpoch = batches) is still accepted', () => {
    expect(decodeCheckpoint(rewriteHeader(ckpt, (h) => { h.batchInEpoch = 3; }, r), 'ok.ckpt').batchInEpoch).toBe(3);
  });
});
