/** Terminal progress: a cli-progress bar per epoch when stderr is a terminal, nothing otherwise. */
import cliProgress from 'cli-progress';
import type { BatchLogs, EvaluateProgress } from '../train/train.js';

export interface ProgressReporter {
  begin(info: { epochs: number; batchesPerEpoch: number }): void;
  batch(b: number, logs: BatchLogs): void;
  /** an epoch's evaluation of the validation or test data: its bar replaces the epoch's */
  evaluating(p: EvaluateProgress): void;
  epochDone(): void;
  stop(): void;
}

const countText = (n: number) => n.toLocaleString('en-US');

/** a bar drawn on `stream` (a terminal's), cleared when it stops */
const newBar = (stream: NodeJS.WriteStream, format: string) => new cliProgress.SingleBar({ stream, format, hideCursor: true, clearOnComplete: true, fps: 10 }, cliProgress.Presets.shades_classic);

/** `stream` is a terminal's (only its isTTY, columns and cursor methods are used) */
export function progressReporter(stream: NodeJS.WriteStream): ProgressReporter | null {
  if (!stream.isTTY) return null;
  let bar: cliProgress.SingleBar | null = null;
  // what the bar shows: the epoch's batches, or one dataset's evaluation
  let showing = '';
  let total = 0;
  let epoch = 0; // epochs done in this run
  let epochs = 0;
  let lossAvg = 0;
  const open = (what: string, format: string, of: number, value: number, payload: object) => {
    bar?.stop();
    showing = what;
    bar = newBar(stream, `epoch ${epoch + 1}/${epochs} ${format}`);
    bar.start(of, value, payload);
  };
  const close = () => {
    bar?.stop();
    bar = null;
    showing = '';
  };
  return {
    begin(info) {
      total = info.batchesPerEpoch;
      epochs = info.epochs;
    },
    batch(b, logs) {
      if (showing !== 'batches') {
        lossAvg = logs.loss;
        open('batches', '[{bar}] {percentage}% | batch {value}/{total} | loss {loss}', total, 0, { loss: logs.loss.toFixed(4) });
      }
      lossAvg = 0.98 * lossAvg + 0.02 * logs.loss;
      bar!.update(b + 1, { loss: lossAvg.toFixed(4) });
    },
    evaluating(p) {
      const payload = { done: countText(p.done), count: countText(p.count) };
      if (showing !== p.set) open(p.set, `[{bar}] {percentage}% | evaluating ${p.set} {done}/{count}`, p.count, p.done, payload);
      bar!.update(p.done, payload);
    },
    epochDone() {
      close();
      epoch++;
    },
    stop: close,
  };
}

/** `simdnet eval`'s bar: `evaluating test 4,000/10,000`, on a terminal's stream only (else null) */
export function evaluationProgress(stream: NodeJS.WriteStream): { update(done: number, count: number): void; stop(): void } | null {
  if (!stream.isTTY) return null;
  let bar: cliProgress.SingleBar | null = null;
  return {
    update(done, count) {
      const payload = { done: countText(done), count: countText(count) };
      if (!bar) {
        bar = newBar(stream, '[{bar}] {percentage}% | evaluating test {done}/{count}');
        bar.start(count, done, payload);
      }
      bar.update(done, payload);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

const BARS = '\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588';

/** values as a unicode sparkline (one block character each, scaled between their min and max) */
export function sparkline(values: number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  const lo = Math.min(...finite), hi = Math.max(...finite);
  return values.map((v) => (!Number.isFinite(v) ? ' ' : BARS[hi > lo ? Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1)) : BARS.length >> 1])).join('');
}
