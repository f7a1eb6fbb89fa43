/**
 * The CLI's number flags: one parser, one rule. Every number is decimal (no 0x10, no Infinity, no
 * empty string); a flag that counts something takes an integer written in decimal digits (no 1e3,
 * no 2.5) within its range, listed here. Also the settings that are accepted but adjusted, each with
 * one note on stderr: more threads than CPUs, a batch larger than the data, a learning rate too
 * small to move float32 weights.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../core/errors.js';

/** the accepted range of each integer flag */
export const INT_RANGES: Record<string, [number, number]> = {
  epochs: [1, 1_000_000],
  'batch-size': [1, 1 << 24],
  hidden: [1, 1 << 20],
  seed: [0, 0xffffffff],
  'step-size': [1, 1_000_000],
  warmup: [0, 1_000_000],
  'early-stopping': [1, 1_000_000],
  'checkpoint-every': [1, 2 ** 31 - 1],
  threads: [1, 64],
  classes: [2, 256],
};

/** a decimal number (optionally signed, with a fraction and an exponent) */
export function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  // decimal only: Number() also reads '0x10' as 16 and '' as 0
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.trim()) || !Number.isFinite(x)) throw new UsageError(`--${flag} must be a number, got '${v}'`);
  return x;
}

/** an integer flag: decimal digits within INT_RANGES[flag] */
export function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const [lo, hi] = INT_RANGES[flag];
  const t = v.trim();
  const x = Number(t);
  if (!/^\+?\d+$/.test(t) || x < lo || x > hi) throw new UsageError(`--${flag} must be an integer in [${lo}, ${hi}], got '${v}'`);
  return x;
}

/** a note on stderr: a setting was accepted but adjusted, or will do little */
export const note = (line: string): void => {
  process.stderr.write(`simdnet: note: ${line}\n`);
};

/** the CPUs this process may use */
export const cpuCount = (): number => availableParallelism();

/** --threads beyond the CPUs only take turns (and each needs its own stack and scratch): use the CPUs */
export function capThreads(threads: number, note: (line: string) => void): number {
  const cpus = cpuCount();
  if (threads <= cpus) return threads;
  note(`--threads ${threads} is more than the ${cpus} CPUs of this machine; using ${cpus} (results are identical for any thread count)`);
  return cpus;
}

/** a batch larger than the training set is the whole set: one batch per epoch */
export function clampBatch(batch: number, count: number, note: (line: string) => void): number {
  if (batch <= count) return batch;
  note(`--batch-size ${batch} is more than the ${count} training images; using ${count} (one batch per epoch)`);
  return count;
}

/** below this, updates mostly round away in float32 (a weight of 0.01 moves in steps of ~1e-9) */
export const TINY_LR = 1e-8;

/** a learning rate too small to move float32 weights gets a note (fit() refuses one that is 0 in float32) */
export function noteTinyLearningRate(lr: number, note: (line: string) => void): void {
  if (lr < TINY_LR && Math.fround(lr) !== 0) note(`--lr ${lr} is below ${TINY_LR}: updates that small mostly round away in float32 (a weight of 0.01 changes in steps of about 1e-9), so the run will barely train`);
}
