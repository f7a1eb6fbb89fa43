/**
 * Training checkpoints: everything needed to continue a run bit for bit. Same container as the
 * model file (src/format/format.ts: magic, version, JSON header, named f32 tensors, CRC-32) with format
 * 'simdnet-checkpoint'. Pure: no Node imports (src/io/io.ts writes it atomically).
 *
 * Version 2 (settings.model: the layer list); version 1 checkpoints (widths) are refused with one line.
 * Header fields: settings (a resume takes what it is not given from them, and refuses what contradicts
 * them; `epochs`, the run's total, may grow; `data` is the training data's fingerprint), epochsDone, batchInEpoch (next batch of
 * the current epoch; 0 at an epoch boundary), step (optimizer steps, Adam's t), rng (xoshiro128**
 * state, 4 x u32), lossSum/correct (the partial epoch's running sums), run (optional: the application's
 * own record of the run, e.g. the CLI's data folder; fit() neither reads nor writes it).
 * Tensors: params (the whole parameter block), buffers (the buffer block: running statistics; only
 * when the network has any), opt.0 / opt.1 (momentum or Adam moments, when
 * used), order (this epoch's sample order; f32 holds indices exactly below 2^24).
 */
import { DataError, SimdnetError } from '../core/errors.js';
import { checkDescription, crc32, decodeFile, encodeFile } from './format.js';
import type { ModelDescription } from '../nn/layers.js';

export interface CheckpointSettings {
  /** the network: input shape, layers and loss (as a model file's header holds it) */
  model: ModelDescription;
  optimizer: string;
  learningRate: number;
  momentum: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** label smoothing of the 'ce' loss (0: none; absent in older checkpoints, read as 0) */
  labelSmoothing: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  samples: number;
  backend: string;
  /** the learning-rate schedule, resolved (type, stepSize, gamma, minLr, warmup) */
  schedule: Record<string, unknown>;
  /** augmentation of the training batches (null: none) */
  augment: Record<string, number> | null;
  /** early-stopping patience in epochs (null: none) */
  earlyStopping: number | null;
  /** the run's total epochs (a resume may ask for more; absent in older checkpoints) */
  epochs?: number;
  /** fingerprint of the training data, images and labels (dataFingerprint; absent in older checkpoints) */
  data?: string;
}

export interface TrainState {
  settings: CheckpointSettings;
  epochsDone: number;
  batchInEpoch: number;
  step: number;
  rng: number[];
  lossSum: number;
  correct: number;
  params: Float32Array;
  /** the buffer block (BatchNorm's running statistics); empty when the network has none */
  buffers?: Float32Array;
  opt: Float32Array[];
  order: Int32Array;
  /** with early stopping: the epoch with the lowest validation loss so far, and its weights */
  best?: { epoch: number; loss: number; params: Float32Array; buffers?: Float32Array } | null;
  /** the application's own record of the run (JSON), carried through the file as it is */
  run?: Record<string, unknown>;
}

/** the training data's fingerprint: CRC-32 of the images, then the labels (~130 ms for MNIST's 47 MB) */
export function dataFingerprint(d: { images: Uint8Array; labels: Uint8Array; count: number }): string {
  return `crc32:${crc32(d.labels, crc32(d.images)).toString(16).padStart(8, '0')}:${d.count}`;
}

export const CHECKPOINT_FORMAT = 'simdnet-checkpoint';
const MAX_ORDER = 1 << 24;

export function encodeCheckpoint(s: TrainState): Uint8Array {
  if (s.order.length > MAX_ORDER) throw new SimdnetError(`checkpoints support at most ${MAX_ORDER} training samples, this run has ${s.order.length}`);
  const tensors = [
    { name: 'params', shape: [s.params.length], data: s.params },
    ...(s.buffers?.length ? [{ name: 'buffers', shape: [s.buffers.length], data: s.buffers }] : []),
    ...s.opt.map((o, i) => ({ name: `opt.${i}`, shape: [o.length], data: o })),
    { name: 'order', shape: [s.order.length], data: Float32Array.from(s.order) },
    ...(s.best ? [{ name: 'best', shape: [s.best.params.length], data: s.best.params }] : []),
    ...(s.best?.buffers?.length ? [{ name: 'best.buffers', shape: [s.best.buffers.length], data: s.best.buffers }] : []),
  ];
  return encodeFile(
    {
      format: CHECKPOINT_FORMAT,
      settings: s.settings,
      epochsDone: s.epochsDone,
      batchInEpoch: s.batchInEpoch,
      step: s.step,
      rng: s.rng,
      lossSum: s.lossSum,
      correct: s.correct,
      ...(s.best ? { best: { epoch: s.best.epoch, loss: s.best.loss } } : {}),
      ...(s.run ? { run: s.run } : {}),
    },
    tensors,
  );
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;

export function decodeCheckpoint(bytes: Uint8Array, file: string): TrainState {
  const { header, tensors } = decodeFile(bytes, file, CHECKPOINT_FORMAT);
  const h = header as Record<string, any>;
  const st = h.settings;
  if (!st || typeof st !== 'object' || !isRecord(st.model) || !Array.isArray(st.model.layers) || !Array.isArray(st.model.input) || !isCount(st.samples) || !isCount(st.batchSize)) throw new DataError(file, 'corrupt checkpoint: bad settings');
  const model = checkDescription(st.model, file);
  const labelSmoothing = st.labelSmoothing ?? 0;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing < 1)) throw new DataError(file, `corrupt checkpoint: label smoothing ${JSON.stringify(st.labelSmoothing)} is not in [0, 1)`);
  if (!isCount(h.epochsDone) || !isCount(h.batchInEpoch) || !isCount(h.step) || !isCount(h.correct) || typeof h.lossSum !== 'number' || !Number.isFinite(h.lossSum)) {
    throw new DataError(file, 'corrupt checkpoint: bad position');
  }
  if (!Array.isArray(h.rng) || h.rng.length !== 4 || !h.rng.every((x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff)) {
    throw new DataError(file, 'corrupt checkpoint: bad random-number state');
  }
  if (h.rng.every((x: number) => x === 0)) throw new DataError(file, 'corrupt checkpoint: the random-number state is all zeros, the fixed point of xoshiro128** (every draw would be 0)');
  if (st.batchSize < 1 || st.samples < 1) throw new DataError(file, `corrupt checkpoint: ${st.samples} samples in batches of ${st.batchSize}`);
  const batches = Math.ceil(st.samples / st.batchSize);
  // batchInEpoch == batches: stopped after an epoch's last batch, before its evaluations
  if (h.batchInEpoch > batches) throw new DataError(file, `corrupt checkpoint: it resumes at batch ${h.batchInEpoch + 1} of an epoch of ${batches} batches (${st.samples} samples in batches of ${st.batchSize})`);
  if (h.correct > Math.min(st.samples, h.batchInEpoch * st.batchSize)) throw new DataError(file, `corrupt checkpoint: ${h.correct} correct predictions in the ${h.batchInEpoch} batches trained of this epoch`);
  const params = tensors.get('params');
  const orderF = tensors.get('order');
  if (!params || !orderF) throw new DataError(file, 'corrupt checkpoint: params or order missing');
  if (orderF.length !== st.samples) throw new DataError(file, `corrupt checkpoint: order has ${orderF.length} entries for ${st.samples} samples`);
  const order = new Int32Array(orderF.length);
  const seen = new Uint8Array(orderF.length);
  for (let i = 0; i < order.length; i++) {
    const v = orderF[i];
    if (!Number.isInteger(v) || v < 0 || v >= order.length || seen[v]) throw new DataError(file, 'corrupt checkpoint: the sample order is not a permutation');
    seen[v] = 1;
    order[i] = v;
  }
  const buffers = tensors.get('buffers') ?? new Float32Array(0);
  let best: TrainState['best'] = null;
  if (h.best !== undefined) {
    const bp = tensors.get('best');
    if (!h.best || !isCount(h.best.epoch) || typeof h.best.loss !== 'number' || !Number.isFinite(h.best.loss) || !bp || bp.length !== params.length) {
      throw new DataError(file, 'corrupt checkpoint: bad early-stopping state');
    }
    const bb = tensors.get('best.buffers') ?? new Float32Array(0);
    if (bb.length !== buffers.length) throw new DataError(file, 'corrupt checkpoint: bad early-stopping state');
    best = { epoch: h.best.epoch, loss: h.best.loss, params: bp, buffers: bb };
  }
  const opt: Float32Array[] = [];
  for (let i = 0; tensors.has(`opt.${i}`); i++) opt.push(tensors.get(`opt.${i}`)!);
  for (const arr of [params, buffers, ...opt, ...(best ? [best.params, best.buffers!] : [])]) for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i])) throw new DataError(file, 'checkpoint holds a non-finite value; resume from an earlier one');
  return { settings: { ...st, model, labelSmoothing, augment: st.augment ?? null, earlyStopping: st.earlyStopping ?? null }, epochsDone: h.epochsDone, batchInEpoch: h.batchInEpoch, step: h.step, rng: h.rng, lossSum: h.lossSum, correct: h.correct, params, buffers, opt, order, best, ...(isRecord(h.run) ? { run: h.run } : {}) };
}

/** refuse to resume a run with different settings: names the first setting that differs, with both values */
export function checkResumable(saved: CheckpointSettings, run: CheckpointSettings, file: string): void {
  if (saved.data !== undefined && run.data !== undefined && saved.data !== run.data) {
    throw new SimdnetError(`${file} was made on other training data (fingerprint ${saved.data}, this data's ${run.data}); resume on the data it was made on (or start a new run)`);
  }
  for (const k of Object.keys(run) as (keyof CheckpointSettings)[]) {
    if (k === 'epochs' || k === 'data') continue; // more epochs may be asked for; the data was checked above
    const a = JSON.stringify(saved[k]), b = JSON.stringify(run[k]);
    if (a !== b) throw new SimdnetError(`${file} was made with ${k} ${a} but this run has ${k} ${b}; resume with the same settings (or start a new run)`);
  }
}
