/** Terminal progress: a cli-progress bar per epoch when stderr is a terminal, nothing otherwise. */
import cliProgress from 'cli-progress';
import type { BatchLogs } from '../train/train.js';

export interface ProgressReporter {
  begin(info: { epochs: number; batchesPerEpoch: number }): void;
  batch(b: number, logs: BatchLogs): void;
  epochDone(): void;
  stop(): void;
}

export function progressReporter(stream: NodeJS.WriteStream): ProgressReporter | null {
  if (!stream.isTTY) return null;
  let bar: cliProgress.SingleBar | null = null;
  let total = 0;
  let epoch = 0;
  let epochs = 0;
  let lossAvg = 0;
  return {
    begin(info) {
      total = info.batchesPerEpoch;
      epochs = info.epochs;
    },
    batch(b, logs) {
      if (!bar) {
        epoch++;
        lossAvg = logs.loss;
        bar = new cliProgress.SingleBar(
          { stream, format: `epoch ${epoch}/${epochs} [{bar}] {percentage}% | batch {value}/{total} | loss {loss}`, hideCursor: true, clearOnComplete: true, fps: 10 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { loss: logs.loss.toFixed(4) });
      }
      lossAvg = 0.98 * lossAvg + 0.02 * logs.loss;
      bar.update(b + 1, { loss: lossAvg.toFixed(4) });
    },
    epochDone() {
      bar?.stop();
      bar = null;
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
