/**
 * bench/ab/: the shared statistics mean one thing each, and every A/B script runs in its smoke mode
 * (--quick), so they never rot. No timing thresholds: the two sides are the same build, so what is
 * checked is that the scripts run, print their ratio, and find the same bits on both sides.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module without types
import { median, pairRatio, quantile, summary } from '../bench/stats.mjs';

const root = new URL('..', import.meta.url).pathname;
const run = (script: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [`bench/ab/${script}`, '--quick', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `${script}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const ratioLine = /^A\/B pair ratio (\d+\.\d{3}) \(p10 \d+\.\d{3}, p90 \d+\.\d{3}, (\d+) pairs\); ratio of medians \d+\.\d{3}$/m;

describe('bench/stats.mjs', () => {
  it('has one median (the mean of the middle two for an even count), quantiles that agree with it, and the pair ratio', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0)).toBe(10);
    expect(quantile([10, 20, 30, 40, 50], 1)).toBe(50);
    expect(quantile([10, 20, 30, 40, 50], 0.1)).toBeCloseTo(14, 12);
    expect(summary([5, 1, 3])).toEqual({ n: 3, min: 1, p10: 1.4, median: 3, p90: 4.6, max: 5 });
    // the median of the per-pair ratios, not the ratio of the medians
    expect(pairRatio([2, 10, 3], [1, 5, 6])).toBe(2);
    expect(median([2, 10, 3]) / median([1, 5, 6])).toBe(0.6);
  });
});

describe('bench/ab scripts --quick', () => {
  it('epochs.mjs: one process, two sides, the kernels timed inside, the same weights', () => {
    const out = run('epochs.mjs', '--b', 'threads=2', '--kernels', 'sparse_matmul_forward');
    expect(out).toMatch(/^# node v\d+/m);
    expect(out).toMatch(/^# B: threads=2 -> .* threads 2, wasm-simd \(2 threads\)$/m);
    expect(out).toMatch(/^ {2}sparse_matmul_forward +min [\d.]+ .* ms an epoch \(n 2\)$/m);
    expect(out).toMatch(ratioLine);
    expect(out).toContain('weights bit-identical: true');
    expect(run('epochs.mjs', '--evaluate')).toMatch(/^A min \d+ .* ms a pass \(n 2\)/m);
  });

  it('epochs-procs.mjs: fresh processes per side and round, epochs alternating', () => {
    const out = run('epochs-procs.mjs', '--a', '.', '--b', '.', '--epochs', '2');
    expect(out.match(/^round \d \([AB] first\): A \d+ \d+ {2}B \d+ \d+ ms/gm)).toHaveLength(2);
    const m = out.match(ratioLine);
    expect(m?.[2]).toBe('4');
  });

  it('kernels.mjs: a sparse, a dense and an elementwise kernel, outputs compared bit for bit', () => {
    const out = run('kernels.mjs', '--kernel', 'sparse-step,mm-bwd,dropout', '--shape', '64x784x64', '--n', '4096');
    for (const k of ['sparse-step 64x784x64', 'mm-bwd 64x784x64', 'dropout 4096']) {
      expect(out).toMatch(new RegExp(`^${k}: A min .*; A/B pair ratio \\d+\\.\\d{3} .*; outputs bit-identical: true$`, 'm'));
    }
  });

  it('eval-gap.mjs: the longest event-loop gap during fit()\'s evaluation of the test set, on two sides, the same test figures', () => {
    const out = run('eval-gap.mjs');
    expect(out).toMatch(/^# W4 \(mnist_convnet, batch 128\): 2 training batches, then fit\(\)'s evaluation of 1000 test images; 0 warm-up \+ 1 pairs$/m);
    for (const side of ['A', 'B']) expect(out).toMatch(new RegExp(`^${side} longest event-loop gap during the evaluation: min \\d+ .* ms \\(n 1\\); the evaluation min \\d+ .* ms \\(n 1\\)$`, 'm'));
    expect(out).toContain('test loss and accuracy bit-identical: true');
  });

  it('cnn-epochs.mjs: the W4 CNN on 1 and 2 threads, the same weights, one (quick) epoch and its accuracy', () => {
    const out = run('cnn-epochs.mjs', '--epoch', '--kernels');
    expect(out).toMatch(/^# B: threads=2 -> .* threads 2, wasm-simd \(2 threads\)$/m);
    expect(out).toMatch(/^ {2}conv2d_backward_filter C=1 +\d+\.\d\d +\d+\.\d\d {2}\d+\.\d\d$/m);
    expect(out).toMatch(/^A min \d+ .* ms for 3 batches \(n 2\)$/m);
    expect(out).toMatch(ratioLine);
    expect(out).toContain('weights bit-identical: true');
    expect(out).toMatch(/^A: one epoch \(6000 images\) in [\d.]+ s; test accuracy \d+\.\d\d% \(1000 test images\)$/m);
    expect(out).toMatch(/^peak RSS \d+ MB$/m);
  });

  it('cnn-epochs.mjs --infer: W5 inference on two sides, samples/s and the same loss', () => {
    const out = run('cnn-epochs.mjs', '--infer', '--a', '.', '--b', '.');
    expect(out).toMatch(/^A min \d+ .* ms a pass \(n 2\)$/m);
    expect(out).toMatch(ratioLine);
    expect(out).toMatch(/^A \d+, B \d+ samples\/s \(medians\)$/m);
    expect(out).toMatch(/^loss bit-identical: true; accuracy A \d+\.\d\d%, B \d+\.\d\d%$/m);
  });

  it('augment-overhead.mjs: plain and augmented steps, and epochs in pairs', () => {
    expect(run('augment-overhead.mjs', '--hidden', '16')).toMatch(/^ratio augmented\/plain \d+\.\d{3} \(overhead -?[\d.]+%\)$/m);
    expect(run('augment-overhead.mjs', '--hidden', '16', '--mode', 'epochs', '--repeats', '2')).toMatch(/^pair ratio augmented\/plain \d+\.\d{3} \(median over the 2 pairs\)$/m);
  });

  it('peak.mjs prints the peak, and bad input is one line and exit 2', () => {
    expect(run('peak.mjs')).toMatch(/^f32x4 mul\+add peak: min [\d.]+ .* GFLOP\/s \(n 3\)$/m);
    const bad = spawnSync(process.execPath, ['bench/ab/kernels.mjs', '--kernel', 'nope'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/^unknown kernel 'nope': one of sparse-fwd, /);
    const side = spawnSync(process.execPath, ['bench/ab/epochs.mjs', '--b', 'nowhere'], { cwd: root, encoding: 'utf8' });
    expect(side.status).toBe(2);
    expect(side.stderr).toMatch(/^side 'nowhere': .*nowhere has no package.json/);
  });
});
