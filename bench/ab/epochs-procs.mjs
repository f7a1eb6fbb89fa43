#!/usr/bin/env node
// Whole training epochs of two sides in fresh processes: the measure for "is the new build as fast
// as main's" (W1 and W2 epochs, median pair ratio). For each of --pairs rounds a fresh process is
// started per side (so neither build is ever the first model made in a process, a bias of up to ~5%
// in one process); each trains one untimed warm-up epoch, then the two take turns, one epoch at a
// time, alternating which goes first (A B B A ...; the idle one waits on its stdin), --epochs each.
// A pair is one epoch of each, back to back; the result is the median over all pairs of A's time
// over B's. See bench/ab/README.md.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  describe, describeRatio, describeWorkload, fail, fitOptions, median, mnist, modelFor, options, parseSide, printEnvironment,
  timed, workload, WORKLOAD_OPTIONS,
} from './harness.mjs';

const me = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  // one side in one process, driven by JSON lines (bench/peers/protocol.mjs): init, epoch, accuracy
  const { serve } = await import('../peers/protocol.mjs');
  let s;
  await serve({
    async init({ side, w, quick }) {
      const { lib, backend, model } = await modelFor(side, w);
      s = { backend, model, w, data: mnist(lib, quick) };
      await model.fit(s.data.train, fitOptions(w)); // the warm-up epoch
      return { backend: lib.backendLabel(backend) };
    },
    async epoch() {
      return { ms: await timed(() => s.model.fit(s.data.train, fitOptions(s.w))) };
    },
    async accuracy() {
      const acc = s.model.evaluate(s.data.test).accuracy;
      await s.backend.close?.();
      return { acc };
    },
  });
}

const USAGE = 'node bench/ab/epochs-procs.mjs --a SPEC --b SPEC [--workload W1|W2] [--hidden N,...] [--activation A] [--optimizer O] [--lr X] [--batch N] [--pairs 7] [--epochs 3] [--quick]';
const o = options({ ...WORKLOAD_OPTIONS, epochs: { type: 'string' } }, USAGE, { pairs: 7, warmup: 1, epochs: 3 });
if (o.warmup !== 1) fail('--warmup: each process always trains one warm-up epoch', USAGE);
const epochs = o.count('epochs', 1);
if (o.quick) o.pairs = Math.min(o.pairs, 2);
const w = workload(o, USAGE);
const sides = { A: parseSide(o.a, USAGE), B: parseSide(o.b, USAGE) };

/** a fresh process for a side; ask(cmd) sends one command and resolves with its answer */
function start(name) {
  const proc = spawn(process.execPath, [me, '--child'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const waiting = [];
  createInterface({ input: proc.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  proc.on('exit', (code) => { if (waiting.length) fail(`side ${name} (${sides[name].spec}) exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`); });
  const ask = async (cmd, args = {}) => {
    const answer = await new Promise((resolve) => { waiting.push(resolve); proc.stdin.write(JSON.stringify({ cmd, ...args }) + '\n'); });
    if (!answer.ok) fail(`side ${name} (${sides[name].spec}): ${answer.error}`);
    return answer;
  };
  return { ask, quit: async () => { proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n'); if (proc.exitCode === null) await once(proc, 'exit'); } };
}

printEnvironment({ A: { side: sides.A }, B: { side: sides.B } });
console.log(`# train: ${o.quick ? 'the first 6,000 training images (--quick)' : 'the 60,000 training images'} an epoch, ${describeWorkload(w)}; ${o.pairs} rounds of two fresh processes, each 1 warm-up + ${epochs} timed epochs, alternating`);
const ta = [], tb = [], info = {};
for (let r = 0; r < o.pairs; r++) {
  const first = r % 2 ? ['B', 'A'] : ['A', 'B'];
  const procs = {};
  for (const name of first) { procs[name] = start(name); info[name] = await procs[name].ask('init', { side: sides[name], w, quick: !!o.quick }); }
  const round = { A: [], B: [] };
  for (let e = 0; e < epochs; e++) {
    for (const name of (e % 2 ? [...first].reverse() : first)) round[name].push((await procs[name].ask('epoch')).ms);
  }
  for (const name of first) { info[name].acc = (await procs[name].ask('accuracy')).acc; await procs[name].quit(); }
  ta.push(...round.A); tb.push(...round.B);
  console.log(`round ${r} (${first[0]} first): A ${round.A.map((x) => x.toFixed(0)).join(' ')}  B ${round.B.map((x) => x.toFixed(0)).join(' ')} ms  A/B of medians ${(median(round.A) / median(round.B)).toFixed(3)}`);
}
console.log(`A ${info.A.backend}: ${describe(ta, 'ms an epoch')}, test accuracy ${info.A.acc}`);
console.log(`B ${info.B.backend}: ${describe(tb, 'ms an epoch')}, test accuracy ${info.B.acc}`);
console.log(describeRatio(ta, tb));
