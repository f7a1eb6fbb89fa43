/**
 * Learning-rate schedules, evaluated once per epoch (the rate is constant within an epoch and is
 * logged as EpochLogs.learningRate), or with `perBatch` before every batch at the fractional epoch
 * e + b / batchesPerEpoch (b the 0-based batch; EpochLogs.learningRate is then the rate of the
 * epoch's first batch), so a cosine schedule decays smoothly to minLr over a short run. A linear
 * warm-up can be combined with any of them.
 *
 * epoch is 0-based here (fractional with perBatch); total is the number of epochs of the fit() call.
 *   constant: lr
 *   step:     lr * gamma^floor(e / stepSize)
 *   cosine:   minLr + (lr - minLr) * (1 + cos(pi * e / total)) / 2
 *   warm-up:  for e < warmup, the rate is scaled by (e + 1) / (warmup + 1); the schedule after it
 *             runs on e - warmup over total - warmup epochs.
 */
import { UsageError } from '../core/errors.js';

export const SCHEDULES = ['constant', 'step', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface ScheduleConfig {
  /** 'constant' | 'step' | 'cosine' (default 'constant') */
  type?: ScheduleName;
  /** step: epochs between decays (default 1) */
  stepSize?: number;
  /** step: multiplier at each decay (default 0.5) */
  gamma?: number;
  /** cosine: the rate reached at the end (default 0) */
  minLr?: number;
  /** linear warm-up epochs before the schedule (default 0) */
  warmup?: number;
  /** evaluate the schedule before every batch instead of once per epoch (default false) */
  perBatch?: boolean;
}

/** a schedule with every field resolved; perBatch is present only when true (checkpoints made before it stay resumable) */
export type ResolvedSchedule = Required<Omit<ScheduleConfig, 'perBatch'>> & { perBatch?: true };

export function checkSchedule(c: ScheduleConfig = {}): ResolvedSchedule {
  if (typeof c !== 'object' || c === null) throw new UsageError(`schedule must be an object such as { type: 'cosine' }, got ${JSON.stringify(c)}`);
  const type = c.type ?? 'constant';
  if (!SCHEDULES.includes(type)) throw new UsageError(`unknown learning-rate schedule '${type}': use one of ${SCHEDULES.join(', ')}`);
  const stepSize = c.stepSize ?? 1;
  if (!Number.isInteger(stepSize) || stepSize < 1) throw new UsageError(`step size must be a positive integer, got ${stepSize}`);
  const gamma = c.gamma ?? 0.5;
  if (!(gamma > 0 && gamma <= 1)) throw new UsageError(`step gamma must be in (0, 1], got ${gamma}`);
  const minLr = c.minLr ?? 0;
  if (!(minLr >= 0) || !Number.isFinite(minLr)) throw new UsageError(`minimum learning rate must be >= 0, got ${minLr}`);
  const warmup = c.warmup ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) throw new UsageError(`warm-up epochs must be an integer >= 0, got ${warmup}`);
  if (c.perBatch !== undefined && typeof c.perBatch !== 'boolean') throw new UsageError(`schedule perBatch must be true or false, got ${JSON.stringify(c.perBatch)}`);
  return { type, stepSize, gamma, minLr, warmup, ...(c.perBatch ? { perBatch: true as const } : {}) };
}

/** refuse a warm-up that lasts the whole run (`runEpochs` epochs): the rate would never reach lr */
export function checkWarmup(warmup: number, runEpochs: number, lr: number): void {
  if (warmup >= runEpochs) throw new UsageError(`a warm-up (--warmup) of ${warmup} epochs is not shorter than the run's ${runEpochs} epochs: the learning rate would never reach ${lr}; give fewer warm-up epochs`);
}

/** the learning rate for 0-based epoch e (fractional for a per-batch schedule) of total epochs, base rate lr */
export function learningRateAt(c: ScheduleConfig | undefined, lr: number, e: number, total: number): number {
  const s = checkSchedule(c);
  if (e < s.warmup) return (lr * (e + 1)) / (s.warmup + 1);
  const k = e - s.warmup;
  const n = Math.max(1, total - s.warmup);
  switch (s.type) {
    case 'constant':
      return lr;
    case 'step':
      return lr * Math.pow(s.gamma, Math.floor(k / s.stepSize));
    case 'cosine':
      return s.minLr + ((lr - s.minLr) * (1 + Math.cos((Math.PI * k) / n))) / 2;
  }
}
