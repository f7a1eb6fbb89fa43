/**
 * bench/compare.mjs in its smoke mode (--quick), so the peer comparison never rots: every peer
 * trains W1 and W2 and runs W3, the JSON, CSV and SVG come out well-formed, and the run is appended
 * as one line to the history file (here a copy of bench/results/history.jsonl in a temporary
 * folder: the run never touches the repo's files). No timing thresholds: the figures only have to
 * be finite and consistent. The CNN workloads (W4/W5) are not in --quick's default set; their own
 * smoke test runs them with --quick on the peers that take seconds (simdnet's wasm-simd on one and
 * two threads, tfjs-wasm, PyTorch when installed) and checks what is recorded for tfjs-wasm, which
 * cannot train it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = new URL('../bench/compare.mjs', import.meta.url).pathname;
const results = new URL('../bench/results/', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'simdnet-compare-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe('bench/compare.mjs --quick', () => {
  it('runs every peer on W1, W2 and W3, reports consistent figures as JSON, CSV and SVG, and appends the run to the history', () => {
    // the repo's results, to check the run leaves them alone
    const snapshot = () => Object.fromEntries(readdirSync(results).map((f) => [f, readFileSync(join(results, f), 'utf8')]));
    const before = snapshot();
    copyFileSync(join(results, 'history.jsonl'), join(out, 'history.jsonl'));
    const history0 = readFileSync(join(out, 'history.jsonl'), 'utf8');
    const r = spawnSync(process.execPath, [script, '--quick', '--json', '--out', out], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.environment.node).toBe(process.version);
    expect(report.environment.threads).toBe(1);
    expect(report.environment.threadsOf['simdnet-wasm-simd-2t']).toBe(2);
    expect(report.environment.threadsOf['simdnet-wasm-simd']).toBe(1);
    const peers = ['simdnet-wasm-simd', 'simdnet-wasm-simd-2t', 'simdnet-wasm-scalar', 'simdnet-ts', 'tfjs-cpu', 'tfjs-wasm', ...(hasNumpy ? ['numpy'] : [])];
    if (!hasNumpy) expect(report.environment.skipped.some((s: { peer: string }) => s.peer === 'numpy')).toBe(true);
    else expect(report.environment.peers.numpy.blas).toBeTruthy();
    expect(report.environment.peers['tfjs-wasm'].backend).toBe('wasm');
    expect(report.environment.peers['simdnet-wasm-simd'].backend).toBe('wasm-simd');
    for (const id of peers) {
      for (const workload of ['W1', 'W2', 'W3-W1', 'W3-W2']) {
        const row = report.results.find((x: { id: string; workload: string }) => x.id === id && x.workload === workload);
        expect(row, `${id} ${workload}`).toBeTruthy();
        for (const k of ['peer', 'backend', 'workload']) expect(typeof row[k]).toBe('string');
        for (const k of ['epochMsMin', 'epochMsMedian', 'samplesPerSec', 'gflops']) expect(row[k] > 0 && Number.isFinite(row[k]), `${id} ${workload} ${k}`).toBe(true);
        expect(row.epochMsMin).toBeLessThanOrEqual(row.epochMsMedian);
        expect(row.testAccuracy).toBeGreaterThanOrEqual(0);
        expect(row.testAccuracy).toBeLessThanOrEqual(1);
        expect(row.runs).toBeGreaterThanOrEqual(3);
        expect(row.runMs.length).toBe(row.runs);
      }
    }
    expect(report.targets.length).toBe(9);
    for (const t of report.targets.filter((x: { target: string }) => hasNumpy || !/numpy/.test(x.target))) {
      expect(Number.isFinite(t.timeRatio), t.target).toBe(true);
      expect(Number.isFinite(t.pairedTimeRatio) && t.pairedTimeRatio > 0, t.target).toBe(true);
    }
    const csv = readFileSync(join(out, 'compare-quick.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^workload,peer,backend,epoch ms min/);
    expect(csv.length).toBe(1 + report.results.length);
    const svg = readFileSync(join(out, 'compare-quick.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect((svg.match(/<rect /g) ?? []).length).toBe(1 + report.results.length);
    expect(existsSync(join(out, 'compare-quick.json'))).toBe(true);

    // history.jsonl: the earlier lines as they were, then this run as one more line
    const history = readFileSync(join(out, 'history.jsonl'), 'utf8');
    expect(history.startsWith(history0)).toBe(true);
    const added = history.slice(history0.length).split('\n');
    expect(added.length).toBe(2); // one line and its newline
    expect(added[1]).toBe('');
    const line = JSON.parse(added[0]);
    expect(line.schema).toBe(1);
    expect(line.environment).toEqual(report.environment);
    expect(line.environment.quick).toBe(true);
    expect(line.environment.date).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect('commit' in line.environment).toBe(true);
    expect(line.results).toEqual(report.results);
    expect(line.targets).toEqual(report.targets);
    // every earlier line is a run too
    for (const l of history0.trim().split('\n')) expect(Object.keys(JSON.parse(l))).toEqual(['schema', 'environment', 'results', 'targets']);
    expect(snapshot()).toEqual(before);
  }, 240_000);

  it('W4/W5 (the CNN): simdnet trains it on one and two threads, tfjs-wasm\'s training error recorded and its inference timed, PyTorch trains', () => {
    copyFileSync(join(results, 'history.jsonl'), join(out, 'history.jsonl'));
    const history0 = readFileSync(join(out, 'history.jsonl'), 'utf8');
    // jax-js, tfjs-cpu and simdnet's scalar and ts backends are left out: one CNN step costs them seconds to minutes (jax-js compiles first)
    const r = spawnSync(process.execPath, [script, '--quick', '--json', '--out', out, '--workloads', 'W4,W5', '--peers', 'simdnet-wasm-simd,simdnet-wasm-simd-2t,tfjs-wasm,torch'], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    type Skip = { peer: string; workload: string; reason: string };
    const skip = (peer: string, workload: string) => report.environment.skipped.find((s: Skip) => s.peer === peer && s.workload === workload)?.reason;
    expect(skip('tfjs-wasm', 'W4')).toMatch(/training fails: .*Conv2DBackpropFilter/);
    const rowOf = (id: string, workload: string) => report.results.find((x: { id: string; workload: string }) => x.id === id && x.workload === workload);
    expect(rowOf('tfjs-wasm', 'W4')).toBeUndefined();
    const wasm5 = rowOf('tfjs-wasm', 'W5');
    expect(wasm5.samplesPerSec > 0 && Number.isFinite(wasm5.samplesPerSec)).toBe(true);
    expect(wasm5.testAccuracy).toBeNull(); // untrained weights: no accuracy claimed
    expect(wasm5.trainedSamples).toBe(0);
    expect(report.environment.peers['tfjs-wasm'].parameters).toBe(34826);
    const trained = (id: string) => {
      for (const w of ['W4', 'W5']) {
        const row = rowOf(id, w);
        expect(row, `${id} ${w}`).toBeDefined();
        for (const k of ['epochMsMin', 'epochMsMedian', 'samplesPerSec', 'gflops']) expect(row[k] > 0 && Number.isFinite(row[k]), `${id} ${w} ${k}`).toBe(true);
        expect(row.testAccuracy).toBeGreaterThanOrEqual(0);
        // warm-up (+ the estimate unless the warm-up outlasted the budget), then three runs of one batch
        expect([128 * 4, 128 * 5]).toContain(row.trainedSamples);
        expect(row.testImages).toBe(200);
      }
      expect(report.environment.peers[id].parameters).toBe(34826);
    };
    for (const id of ['simdnet-wasm-simd', 'simdnet-wasm-simd-2t']) {
      trained(id);
      expect(skip(id, 'W4')).toBeUndefined();
    }
    expect(report.environment.threadsOf['simdnet-wasm-simd-2t']).toBe(2);
    const torchReason = skip('torch', 'W4');
    if (torchReason) expect(torchReason).toMatch(/PyTorch is not installed .*python3-torch/);
    else {
      expect(report.environment.peers.torch.threads).toBe(1);
      trained('torch');
    }
    type Target = { target: string; timeRatio: number | null; pass: boolean | null };
    expect(report.targets.map((t: Target) => t.target)).toEqual([
      'W4 epoch, wasm-simd / pytorch', 'W4 epoch, wasm-simd / jax-js', 'W4 epoch, wasm-simd 2 threads / 1 thread', 'W4 epoch, TS fallback / tfjs-cpu',
      'W5 samples/s, wasm-simd >= 1.5 x tfjs-wasm', 'W5 samples/s, wasm-simd >= 1.0 x pytorch',
    ]);
    // measured where both sides ran (jax-js, tfjs-cpu and ts were not asked for)
    const measured = report.targets.filter((t: Target) => t.timeRatio !== null).map((t: Target) => t.target);
    expect(measured).toEqual(['W4 epoch, wasm-simd 2 threads / 1 thread', 'W5 samples/s, wasm-simd >= 1.5 x tfjs-wasm', ...(torchReason ? [] : ['W4 epoch, wasm-simd / pytorch', 'W5 samples/s, wasm-simd >= 1.0 x pytorch'])].sort((a, b) => report.targets.findIndex((t: Target) => t.target === a) - report.targets.findIndex((t: Target) => t.target === b)));
    for (const t of report.targets) expect(t.pass === null).toBe(t.timeRatio === null);
    const md = readFileSync(join(out, 'compare-quick-W4-W5.md'), 'utf8');
    expect(md).toMatch(/\| W4 +\| simdnet +\| wasm-simd +\|/);
    expect(md).toMatch(/\| W5 +\| simdnet +\| wasm-simd-2t +\|/);
    expect(md).toMatch(/\| W5 +\| tfjs +\| wasm +\|/);
    expect(md).toContain("- W4 tfjs-wasm: training fails: Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'");
    expect(md).not.toContain('cannot train convolutional networks');
    const added = readFileSync(join(out, 'history.jsonl'), 'utf8').slice(history0.length).trim().split('\n');
    expect(added.length).toBe(1);
    expect(JSON.parse(added[0]).results).toEqual(report.results);
  }, 240_000);

  it('rejects bad options with one line and exit code 2', () => {
    for (const [args, msg] of [
      [['--reps', '2'], /--reps must be an integer >= 3/],
      [['--peers', 'numpy,mxnet'], /unknown peer 'mxnet'/],
      [['--workloads', 'W1,W6'], /unknown workload 'W6'/],
      [['--frobnicate'], /unknown option '--frobnicate'/],
    ] as const) {
      const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
