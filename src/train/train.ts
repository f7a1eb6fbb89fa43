/**
 * fit(): the training loop, shaped like llm.c's main: next batch, forward, zero grads, backward,
 * update, timer, evaluate. Reporting (progress bars, JSON lines, reports) is only ever a callback.
 */
import { UsageError, SimdnetError } from '../core/errors.js';
import type { DataSet, Evaluation, Network } from '../nn/model.js';
import { OPTIMIZERS, type OptimizerConfig, type OptimizerName } from '../nn/optimizer.js';
import { checkResumable, dataFingerprint, type CheckpointSettings, type TrainState } from '../format/checkpoint.js';
import { imageSize, resolveAugment, type AugmentOptions } from '../nn/augment.js';
import { EXPLODE_BATCHES, LossWatch, likelyCause } from './divergence.js';
import { overflowWitness, predictWitness } from '../nn/finite-outputs.js';

/**
 * training stopped because the loss, a gradient or an update became NaN/Inf, or the loss exploded
 * while finite (src/train/divergence.ts has the rule); exit 3. The model then holds the last weights that
 * give finite outputs on real inputs (src/nn/finite-outputs.ts): `kept` says which (those from before
 * the batch, the end of an earlier epoch, or the start of the call), or is null when none do.
 */
export class DivergenceError extends SimdnetError {
  /**
   * partial: the model holds the weights after the batch whose update overflowed for some weights
   * (those kept their previous values, the others were updated; all are finite)
   */
  constructor(message: string, readonly epoch: number, readonly batch: number, readonly partial = false, readonly kept: string | null = null) {
    super(message, 3);
    this.name = 'DivergenceError';
  }
}

/** training stopped on request (a signal) after a checkpoint was written (or not, when none was asked for) */
export class InterruptedError extends SimdnetError {
  constructor(message: string, readonly state: TrainState) {
    super(message, 130);
    this.name = 'InterruptedError';
  }
}
import { checkSchedule, checkWarmup, learningRateAt, type ScheduleConfig } from './schedule.js';

export { OPTIMIZERS, type OptimizerName, type OptimizerConfig } from '../nn/optimizer.js';

export interface EpochLogs {
  /** 1-based epoch number */
  epoch: number;
  /** mean training loss over the epoch's batches */
  loss: number;
  /** accuracy over the epoch's training batches, measured as they were trained (running) */
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** on the test data passed as testData: for display only, never used to choose anything */
  testLoss?: number;
  testAccuracy?: number;
  /** wall time of the epoch's training steps in this call (evaluation excluded) */
  epochMs: number;
  /**
   * training samples this call trained in the epoch: all of them, or after a resume from a
   * mid-epoch checkpoint those after its position (0 when it was written after the epoch's last batch)
   */
  samples: number;
  /** samples / epochMs in seconds: this call's training rate in the epoch; null when it trained none */
  samplesPerSec: number | null;
  learningRate: number;
  backend: string;
}

export interface BatchLogs {
  batch: number;
  /** mean loss of the batch */
  loss: number;
  accuracy: number;
  size: number;
}

export interface Callbacks {
  onTrainBegin?(info: { epochs: number; batchesPerEpoch: number; samples: number }): void;
  onEpochBegin?(epoch: number): void;
  onBatchEnd?(batch: number, logs: BatchLogs): void;
  /**
   * the epoch's evaluations in full (per-class accuracy, confusion matrix) come as the third argument:
   * the weights they measured are the model's until the next epoch's first batch
   */
  onEpochEnd?(epoch: number, logs: EpochLogs, evaluations: EpochEvaluations): void | Promise<void>;
  /**
   * during an epoch's evaluation of the validation or test data, after each of its batches but the
   * last: `done` of `count` samples evaluated
   */
  onEvaluateProgress?(info: EvaluateProgress): void;
}

export interface EpochEvaluations {
  validation?: Evaluation;
  test?: Evaluation;
}

export interface EvaluateProgress {
  epoch: number;
  set: 'validation' | 'test';
  done: number;
  count: number;
}

export interface FitOptions {
  /** epochs to train (default 1) */
  epochs?: number;
  /** samples per step (default 32) */
  batchSize?: number;
  /** learning rate (default 0.1 for sgd/momentum/nesterov, 0.001 for adam/adamw) */
  learningRate?: number;
  /** 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw' (default 'sgd') */
  optimizer?: OptimizerName;
  /** momentum coefficient (default 0.9) */
  momentum?: number;
  /** Adam's beta1, beta2, epsilon (defaults 0.9, 0.999, 1e-8) */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 weight decay (decoupled for adamw; default 0) */
  weightDecay?: number;
  /**
   * label smoothing e in [0, 1) for the 'ce' loss (default 0): training targets (1 - e) onehot + e / V
   * over the V classes (Keras' and PyTorch's label_smoothing). The epochs' `loss` is this smoothed
   * loss; every evaluation (validation, test, model.evaluate) stays the plain cross-entropy
   */
  labelSmoothing?: number;
  /**
   * stop when the validation loss has not improved for `patience` epochs, and restore the weights of
   * the best epoch (needs validationData; the test data is never looked at)
   */
  earlyStopping?: { patience: number };
  /** learning-rate schedule, evaluated per epoch, or per batch with perBatch (default constant; see schedule.ts) */
  schedule?: ScheduleConfig;
  /**
   * on-the-fly augmentation of the training batches (never validation/test): true for the
   * defaults, or { shift, rotate (degrees), scale, elastic (alpha), sigma }; see src/nn/augment.ts
   */
  augment?: AugmentOptions | boolean;
  /** reshuffle the training data each epoch (default true) */
  shuffle?: boolean;
  /** data evaluated after each epoch as validation */
  validationData?: DataSet;
  /** data evaluated after each epoch for display only (labelled test) */
  testData?: DataSet;
  callbacks?: Callbacks;
  /**
   * yield to the event loop at least this often, in ms, so timers and progress bars run (default 50):
   * between training batches, and between the batches of the per-epoch evaluations
   */
  yieldMs?: number;
  /**
   * continue from a checkpoint; `epochs` then counts the run's total epochs, not additional ones. Every
   * training option not given is taken from the checkpoint (epochs, batch size, optimizer and its
   * settings, schedule, augmentation, early stopping, shuffle); one given that contradicts it is
   * refused, as are a model or training data other than the checkpoint's
   */
  resume?: TrainState;
  /** called with the full training state after every epoch, and every `everyBatches` batches when set */
  checkpoint?: { everyBatches?: number; write(state: TrainState): void };
  /**
   * polled after every batch, training or evaluation; when it returns true, fit() throws
   * InterruptedError carrying the state (during an epoch's evaluations: the state after its last
   * batch, so a resumed run evaluates the epoch again)
   */
  shouldStop?: () => boolean;
}

export interface History {
  epochs: EpochLogs[];
  /** with earlyStopping: the epoch whose weights the model holds at the end (best validation loss) */
  bestEpoch?: number;
  /** with earlyStopping: true when training stopped before the epochs asked for */
  stoppedEarly?: boolean;
  /**
   * the testData's evaluation of the weights the model holds when fit() returns (the last epoch's, or
   * with earlyStopping the best epoch's), the epoch that measured it and the wall time it took: what
   * model.evaluate(testData) with the training batch size would give, at no cost. Absent without
   * testData, or when the weights restored were measured by an earlier call (a resumed run's best epoch)
   */
  test?: { evaluation: Evaluation; epoch: number; ms: number };
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function inRange(name: string, v: number, lo: number, hi: number, hiOpen = true): number {
  if (!Number.isFinite(v) || v < lo || (hiOpen ? v >= hi : v > hi)) throw new UsageError(`${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  return v;
}

/** refuse a learning rate that is not a positive number, or is 0 in float32 (the kernels' precision) */
export function checkLearningRate(lr: number): void {
  if (!(lr > 0) || !Number.isFinite(lr)) throw new UsageError(`learning rate must be a positive number, got ${lr}`);
  if (Math.fround(lr) === 0) throw new UsageError(`learning rate (--lr) ${lr} is 0 in float32, the precision the kernels train in, so nothing would train; give one such as 0.01`);
}

export function resolveOptimizer(o: FitOptions): { opt: OptimizerConfig; lr: number } {
  const type = o.optimizer ?? 'sgd';
  if (!OPTIMIZERS.includes(type)) throw new UsageError(`unknown optimizer '${type}': use one of ${OPTIMIZERS.join(', ')}`);
  const lr = o.learningRate ?? (type.startsWith('adam') ? 0.001 : 0.1);
  checkLearningRate(lr);
  // Adam divides by sqrt(v) + epsilon, and v stays 0 for a weight whose gradient is always 0 (a blank
  // image border): epsilon 0 (or below float32's smallest, as the kernels hold it) made that 0 / 0 = NaN,
  // reported as divergence
  const eps = inRange('epsilon', o.epsilon ?? 1e-8, 0, Infinity);
  if (!(Math.fround(eps) > 0)) throw new UsageError(`epsilon must be a positive number of at least 1.4e-45 (the smallest float32), got ${eps}`);
  return {
    lr,
    opt: {
      type,
      momentum: inRange('momentum', o.momentum ?? 0.9, 0, 1),
      beta1: inRange('beta1', o.beta1 ?? 0.9, 0, 1),
      beta2: inRange('beta2', o.beta2 ?? 0.999, 0, 1),
      eps,
      weightDecay: inRange('weight decay', o.weightDecay ?? 0, 0, Infinity),
    },
  };
}


/**
 * the model's outputs on real inputs overflow float32 on this image (null: finite): a stack of dense
 * layers by src/nn/finite-outputs.ts's bounds, any other network (a CNN) by running it on witness images
 */
const overflowOf = (m: Network): string | null =>
  m.config.activations.length
    ? overflowWitness({ layers: m.config.layers, activations: m.config.activations, inputScale: m.config.inputScale, weights: m.getWeights() })
    : predictWitness((x, n) => m.predict(x, n), m.inputs);

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
/**
 * A turn of the event loop for other work (callbacks, timers, a UI): setImmediate where there is
 * one (Node: ~0.01 ms; setTimeout(0) waits at least 1 ms, paid after every epoch and every yieldMs)
 */
const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
const pause = () => new Promise<void>((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));

/** turns of the event loop at least every `everyMs` of work: `maybe()` takes one when due and returns the ms it took (0: none) */
class Turns {
  private last = now();
  constructor(private readonly everyMs: number) {}
  async maybe(): Promise<number> {
    if (now() - this.last <= this.everyMs) return 0;
    const p0 = now();
    await pause();
    this.last = now();
    return this.last - p0;
  }
  /** one turn now */
  async take(): Promise<void> {
    await pause();
    this.last = now();
  }
}

/**
 * an evaluation's steps (Network.evaluateResident), one batch at a time: after each batch but the
 * last, `progress(done)`, the `stop` poll and a turn of the event loop when due; `ms` excludes those
 * turns. Resolves with `stopped` (the samples done) when `stop` returned true.
 */
async function driveEvaluation(steps: Generator<number, Evaluation, void>, turns: Turns, o: { progress?: (done: number) => void; stop?: () => boolean }): Promise<{ evaluation: Evaluation; ms: number } | { stopped: number }> {
  const t = now();
  let paused = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { evaluation: r.value, ms: now() - t - paused };
    o.progress?.(r.value);
    if (o.stop?.()) return { stopped: r.value };
    paused += await turns.maybe();
  }
}

export interface EvaluateOptions {
  /** samples per forward pass (default 256; one larger than the data is the data) */
  batchSize?: number;
  /** yield to the event loop at least this often, in ms (default 50) */
  yieldMs?: number;
  /** after each batch but the last: `done` of `count` samples evaluated */
  onProgress?: (done: number, count: number) => void;
  /** polled after each batch but the last; when it returns true the evaluation stops and resolves with `stopped` */
  shouldStop?: () => boolean;
}

/**
 * model.evaluate() one batch at a time, yielding to the event loop between batches (timers, signal
 * handlers, a progress bar run): the same figures, bit for bit. `ms`: the evaluation's wall time
 * without those turns; `{ stopped }` (the samples done) when shouldStop asked it to stop.
 */
export async function evaluateAsync(model: Network, data: DataSet, o: EvaluateOptions = {}): Promise<{ evaluation: Evaluation; ms: number } | { stopped: number }> {
  if (model.training) throw new SimdnetError('this model is training: use model.evaluate() while fit() runs, or evaluateAsync() after it returns');
  const batch = Math.min(positiveInt('evaluate: batchSize', o.batchSize ?? 256), data.count);
  model.checkData(data);
  return driveEvaluation(model.evaluateResident(data, batch), new Turns(o.yieldMs ?? 50), { progress: o.onProgress && ((done) => o.onProgress!(done, data.count)), stop: o.shouldStop });
}

/** a resume's options: those not given come from the checkpoint's settings */
function withCheckpointOptions(o: FitOptions, st: CheckpointSettings): FitOptions {
  const saved: FitOptions = {
    epochs: st.epochs, batchSize: st.batchSize, learningRate: st.learningRate, optimizer: st.optimizer as OptimizerName,
    momentum: st.momentum, beta1: st.beta1, beta2: st.beta2, epsilon: st.epsilon, weightDecay: st.weightDecay, labelSmoothing: st.labelSmoothing, shuffle: st.shuffle,
    schedule: st.schedule as ScheduleConfig, augment: st.augment ?? false, earlyStopping: st.earlyStopping === null ? undefined : { patience: st.earlyStopping },
  };
  const out: Record<string, unknown> = { ...o };
  for (const [k, v] of Object.entries(saved)) if (out[k] === undefined) out[k] = v;
  return out as FitOptions;
}

export async function fit(model: Network, train: DataSet, options: FitOptions = {}): Promise<History> {
  if (options.resume) options = withCheckpointOptions(options, options.resume.settings);
  if (model.training) throw new SimdnetError('this model is already training: wait for fit() to finish before calling it again');
  const epochs = positiveInt('epochs', options.epochs ?? 1);
  const batchAsked = positiveInt('batch size', options.batchSize ?? 32);
  const { opt, lr } = resolveOptimizer(options);
  const sched = checkSchedule(options.schedule);
  // the schedule runs over the run's epochs (a resume's `epochs` is the total): a warm-up that lasts them all never reaches lr
  const runEpochs = options.resume ? epochs : model.epochsDone + epochs;
  checkWarmup(sched.warmup, runEpochs, lr);
  if (sched.type === 'cosine' && sched.minLr > lr) throw new UsageError(`the cosine schedule's minimum learning rate ${sched.minLr} is above the learning rate ${lr}: give a minLr below it`);
  if (options.earlyStopping) {
    positiveInt('early-stopping patience', options.earlyStopping.patience);
    if (!options.validationData) throw new UsageError('early stopping needs validation data (validationData, or --validation-split F)');
  }
  const smoothing = inRange('label smoothing', options.labelSmoothing ?? 0, 0, 1);
  if (smoothing > 0 && model.config.loss !== 'ce') throw new UsageError(`label smoothing applies to the ce loss (softmax + cross-entropy), not ${model.config.loss}: use loss 'ce' or leave labelSmoothing at 0`);
  const augment = resolveAugment(options.augment);
  if (augment) imageSize(model.inputs, model.config.imageShape);
  const shuffle = options.shuffle ?? true;
  const cb = options.callbacks ?? {};
  const yieldMs = options.yieldMs ?? 50;
  const optKind = opt.type === 'sgd' ? 'none' : opt.type.startsWith('adam') ? 'adam' : 'momentum';
  const extra = [options.validationData, options.testData].filter((d): d is DataSet => !!d);
  model.checkData(train, 'training data');
  if (options.validationData) model.checkData(options.validationData, 'validation data');
  if (options.testData) model.checkData(options.testData, 'test data');
  // a batch larger than the training set is the whole set (the same steps; memory for the set, not for the batch)
  const batch = Math.min(batchAsked, train.count);

  // planned before training starts: a model that is training refuses a re-plan (see Network.plan)
  const s = model.plan(batch, optKind, [train, ...extra], augment);
  model.training = true;
  try {
    const r = s.resident.get(train)!;
    const be = model.backend, V = model.classes, N = train.count;
    // the sample order continues from the model's previous fit() on data of this size, so two calls of
    // one epoch each shuffle as one call of two epochs does (the rng and step counter carry on too)
    const order = new Int32Array(N);
    if (model.sampleOrder?.length === N) order.set(model.sampleOrder);
    else for (let i = 0; i < N; i++) order[i] = i;
    model.sampleOrder = order;
    const batchesPerEpoch = Math.ceil(N / batch);
    const settings: CheckpointSettings = {
      model: model.config.model,
      optimizer: opt.type, learningRate: lr, momentum: opt.momentum, beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.eps, weightDecay: opt.weightDecay, labelSmoothing: smoothing,
      // the batch asked for (one larger than the data trains as the whole set: the same steps either way)
      batchSize: batchAsked, shuffle, seed: model.config.seed, samples: N, backend: be.name,
      schedule: { ...sched },
      augment,
      earlyStopping: options.earlyStopping?.patience ?? null,
    };
    // resuming: restore weights, optimizer state, rng and position; `epochs` is then the run's total
    const res = options.resume;
    let firstBatch = 0, resumeSums: [number, number] | null = null;
    let targetEpochs = model.epochsDone + epochs;
    // early stopping: the best epoch so far (its validation loss and weights), carried by checkpoints
    let best: { loss: number; epoch: number; params: Float32Array; buffers: Float32Array } | null = null;
    // the test evaluation of the last epoch, and of the best one (null: measured before this call)
    let lastTest: History['test'] | null = null, bestTest: History['test'] | null = null;
    if (res) {
      settings.data = dataFingerprint(train);
      checkResumable(res.settings, settings, 'the checkpoint');
      if (res.params.length !== model.paramBlockLength || res.opt.length !== s.opt.length || res.opt.some((o) => o.length !== model.paramBlockLength)) {
        throw new SimdnetError(`checkpoint holds ${res.params.length} parameter values and ${res.opt.length} optimizer tensors; this model needs ${model.paramBlockLength} and ${s.opt.length}`);
      }
      const resBuffers = res.buffers ?? new Float32Array(0);
      if (resBuffers.length !== model.bufferCount) throw new SimdnetError(`checkpoint holds ${resBuffers.length} buffer values (running statistics); this model needs ${model.bufferCount}`);
      if (res.epochsDone >= epochs) throw new SimdnetError(`the checkpoint already completed ${res.epochsDone} epochs; ask for more than that with --epochs`);
      if (options.earlyStopping) {
        best = res.best ? { ...res.best, buffers: res.best.buffers ?? new Float32Array(0) } : null;
        if (res.batchInEpoch === 0 && res.epochsDone - (best?.epoch ?? 0) >= options.earlyStopping.patience) {
          throw new SimdnetError(`the checkpoint's run already stopped early after epoch ${res.epochsDone} (no lower validation loss since epoch ${best?.epoch ?? 0}); nothing is left to train: start a new run`);
        }
      }
      model.writeParams(res.params);
      if (model.bufferCount) model.writeBuffers(resBuffers);
      res.opt.forEach((o, i) => be.write(s.opt[i], o));
      model.step = res.step;
      model.epochsDone = res.epochsDone;
      model.rng.setState(res.rng);
      order.set(res.order);
      targetEpochs = epochs;
      if (res.batchInEpoch > 0) {
        firstBatch = res.batchInEpoch;
        resumeSums = [res.lossSum, res.correct];
      }
    }
    settings.epochs = targetEpochs;
    const state = (batchInEpoch: number, lossSum: number, correct: number): TrainState => {
      settings.data ??= dataFingerprint(train); // once, at the first checkpoint
      return {
        settings, epochsDone: model.epochsDone, batchInEpoch, step: model.step, rng: model.rng.getState(), lossSum, correct,
        params: model.readParams(), ...(model.bufferCount ? { buffers: model.readBuffers() } : {}), opt: s.opt.map((t) => be.read(t)), order: order.slice(), best,
      };
    };
    const every = options.checkpoint?.everyBatches ?? 0;
    cb.onTrainBegin?.({ epochs: targetEpochs - model.epochsDone, batchesPerEpoch, samples: N });
    const history: History = { epochs: [] };
    // divergence: the rule (src/train/divergence.ts), and the weights to fall back on, newest first: the
    // end of the last epoch that passed it, and the weights this call started from
    const watch = new LossWatch(model.config.loss, V);
    const start = { params: model.readParams(), buffers: model.readBuffers(), where: res ? `the checkpoint's weights (epoch ${res.epochsDone + 1}, batch ${res.batchInEpoch})` : model.epochsDone > 0 ? `the weights this fit() call started from (after epoch ${model.epochsDone})` : 'the initial weights (before any training)' };
    let good = start;
    /**
     * the error for a divergence in (epoch, batch): rolls the model back to the newest weights with
     * finite outputs on real inputs; `current` describes the weights the model holds when they are a
     * candidate too (their loss on this batch was finite), else null
     */
    const diverge = (what: string, epoch: number, bi: number, rate: number, current: string | null, partial = false): DivergenceError => {
      const candidates: [{ params: Float32Array; buffers: Float32Array } | null, string][] = [];
      if (current) candidates.push([null, current]);
      candidates.push([good, good.where]);
      if (good !== start) candidates.push([start, start.where]);
      let kept: (typeof candidates)[number] | null = null;
      for (const c of candidates) {
        if (c[0]) {
          model.writeParams(c[0].params);
          if (model.bufferCount) model.writeBuffers(c[0].buffers);
        }
        // a batch's forward moves the running statistics before its loss or update is checked: they must be finite too
        if (overflowOf(model) === null && (model.bufferCount === 0 || model.backend.count_nonfinite(model.buffers, model.bufferCount) === 0)) {
          kept = c;
          break;
        }
      }
      const tail = kept ? `the last weights with finite outputs are ${kept[1]}` : 'no weights with finite outputs exist (even those this training started from overflow)';
      return new DivergenceError(`training diverged in epoch ${epoch}, batch ${bi}: ${what}; ${tail}; ${likelyCause(opt, rate)}`, epoch, bi, partial && kept?.[0] === null, kept ? kept[1] : null);
    };
    const turns = new Turns(yieldMs);
    /** an epoch's evaluation of a dataset, one batch at a time: progress, the stop poll and turns of the event loop as in training */
    const evaluate = async (data: DataSet, set: EvaluateProgress['set'], epoch: number, stopped: () => TrainState) => {
      const r = await driveEvaluation(model.evaluateResident(data, batch), turns, { progress: (done) => cb.onEvaluateProgress?.({ epoch, set, done, count: data.count }), stop: options.shouldStop });
      if ('stopped' in r) throw new InterruptedError(`training interrupted in epoch ${epoch} while evaluating the ${set} data (after the epoch's last batch: a resumed run evaluates it again)`, stopped());
      return { evaluation: r.evaluation, epoch, ms: r.ms };
    };
    // the run's last trained batch (lastB 0: none yet), checked once more after the loop
    let lastStart = 0, lastB = 0;

    while (model.epochsDone < targetEpochs) {
      const epoch = model.epochsDone + 1;
      // a per-batch schedule's rate at the epoch's first batch is this one too
      const epochRate = learningRateAt(sched, lr, model.epochsDone, targetEpochs);
      cb.onEpochBegin?.(epoch);
      const skip = firstBatch;
      if (skip === 0 && shuffle) model.rng.shuffle(order);
      firstBatch = 0;
      model.setOrder(s, order); // once per epoch; batches gather through slices of it
      const t0 = now();
      let paused = 0;
      let lossSum = 0, correct = 0;
      if (resumeSums) [lossSum, correct] = resumeSums;
      resumeSums = null;
      for (let bi = skip, start = skip * batch; start < N; bi++, start += batch) {
        const B = Math.min(batch, N - start);
        const rate = sched.perBatch ? learningRateAt(sched, lr, model.epochsDone + bi / batchesPerEpoch, targetEpochs) : epochRate;
        model.loadBatch(s, r, start, B, !!augment);
        model.forward(s, B, true);
        const loss = model.lossForward(s, B, smoothing);
        if (!Number.isFinite(loss)) throw diverge(`the loss became ${loss}`, epoch, bi + 1, rate, null);
        if (watch.batch(loss / B)) throw diverge(watch.describe(loss / B, `${EXPLODE_BATCHES} batches in a row`), epoch, bi + 1, rate, null);
        const ok = be.argmax_rows(s.preds, s.last, s.labels, B, V);
        model.backward(s, B, opt, smoothing);
        // the divergence guard is inside the update kernel: no weight backup, no extra pass
        const guard = model.update(s, opt, rate);
        if (guard > 0) throw diverge(`${guard} gradients became NaN or Inf (no weight was changed)`, epoch, bi + 1, rate, `those from before batch ${bi + 1} of epoch ${epoch}`);
        if (guard < 0) throw diverge(`the update of ${-guard} weights overflowed to NaN or Inf`, epoch, bi + 1, rate, `those after batch ${bi + 1} of epoch ${epoch}, whose ${-guard} overflowing weights kept their previous values`, true);
        lossSum += loss;
        correct += ok;
        lastStart = start;
        lastB = B;
        cb.onBatchEnd?.(bi, { batch: bi, loss: loss / B, accuracy: ok / B, size: B });
        const next = bi + 1;
        if (every > 0 && next % every === 0 && start + B < N) options.checkpoint!.write(state(next, lossSum, correct));
        if (options.shouldStop?.()) {
          // after the last batch too: the resumed run then does this epoch's evaluations and early-stopping check
          const st = state(next, lossSum, correct);
          throw new InterruptedError(`training interrupted in epoch ${epoch} after batch ${next}`, st);
        }
        paused += await turns.maybe();
      }
      const epochMs = now() - t0 - paused;
      // after a resume mid-epoch (or after its last batch) this call trained only the batches from `skip` on
      const trained = Math.max(0, N - skip * batch);
      if (watch.epochEnd()) throw diverge(watch.describe(lossSum / N, 'more than half of the epoch\'s batches'), epoch, Math.ceil(N / batch), epochRate, null);
      if (watch.streak === 0) good = { params: model.readParams(), buffers: model.readBuffers(), where: `those at the end of epoch ${epoch}` };
      // the evaluations come before the epoch counts as done: an interrupt during them leaves the
      // state of an interrupt after the epoch's last batch
      const afterLast = () => state(batchesPerEpoch, lossSum, correct);
      const val = options.validationData ? await evaluate(options.validationData, 'validation', epoch, afterLast) : undefined;
      const test = options.testData ? await evaluate(options.testData, 'test', epoch, afterLast) : undefined;
      lastTest = test ?? null;
      model.epochsDone++;
      const logs: EpochLogs = {
        epoch,
        loss: lossSum / N,
        trainAccuracy: correct / N,
        epochMs,
        samples: trained,
        samplesPerSec: trained > 0 && epochMs > 0 ? (trained / epochMs) * 1000 : null,
        learningRate: epochRate,
        backend: be.name,
      };
      if (val) {
        logs.valLoss = val.evaluation.loss;
        logs.valAccuracy = val.evaluation.accuracy;
      }
      if (test) {
        logs.testLoss = test.evaluation.loss;
        logs.testAccuracy = test.evaluation.accuracy;
      }
      history.epochs.push(logs);
      // before the checkpoint is written, so that it carries this epoch's verdict
      let stop = false;
      if (options.earlyStopping) {
        // a NaN or infinite validation loss is never the best (nor could a checkpoint's JSON carry it)
        if (logs.valLoss! < (best?.loss ?? Infinity)) {
          best = { loss: logs.valLoss!, epoch, params: model.readParams(), buffers: model.readBuffers() };
          bestTest = lastTest;
        }
        else stop = epoch - (best?.epoch ?? 0) >= options.earlyStopping.patience;
      }
      options.checkpoint?.write(state(0, 0, 0));
      await cb.onEpochEnd?.(epoch, logs, { ...(val ? { validation: val.evaluation } : {}), ...(test ? { test: test.evaluation } : {}) });
      await turns.take();
      if (stop) {
        history.stoppedEarly = true;
        break;
      }
    }
    if (best) {
      model.writeParams(best.params); // restore the best validation weights (and their running statistics)
      if (model.bufferCount) model.writeBuffers(best.buffers);
      history.bestEpoch = best.epoch;
    } else if (lastB > 0) {
      // every batch's loss is checked before its update, so the last update is checked here: its own
      // batch through the final weights (finite weights can still overflow in the forward pass)
      model.setOrder(s, order);
      model.loadBatch(s, r, lastStart, lastB);
      model.forward(s, lastB);
      const loss = model.lossForward(s, lastB);
      if (!Number.isFinite(loss)) {
        // the loop ends right after an epoch's last batch, so that epoch is the last one done
        const epoch = model.epochsDone, bi = lastStart / batch + 1, rate = learningRateAt(options.schedule, lr, epoch - 1, targetEpochs);
        throw diverge(`after the last update the loss on that batch is ${loss} (the weights are finite but overflow in the forward pass)`, epoch, bi, rate, null);
      }
    }
    // what fit() leaves must give finite outputs on every real input, as a saved or loaded model must
    const witness = overflowOf(model);
    if (witness !== null) {
      const epoch = model.epochsDone, rate = learningRateAt(options.schedule, lr, Math.max(0, epoch - 1), targetEpochs);
      throw diverge(`after training the outputs overflow float32 on ${witness}`, epoch, batchesPerEpoch, rate, null);
    }
    if (options.earlyStopping) history.stoppedEarly ??= false;
    const measured = best ? (bestTest?.epoch === best.epoch ? bestTest : null) : lastTest;
    if (measured) history.test = measured;
    return history;
  } finally {
    model.training = false;
  }
}
