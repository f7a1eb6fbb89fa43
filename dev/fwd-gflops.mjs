// Scratch verify-then-time harness for matmul_forward (not part of the library or the tests).
// Usage: npm run build && node dev/fwd-gflops.mjs
// Checks each backend against the TS reference (max relative difference), then prints
// min and median GFLOP/s (2*B*C*OC / t) over several timed repeats. Noisy on a shared machine.
import { createBackend } from '../dist/node.js';

const shapes = [
  [128, 784, 800], // W2 first layer
  [128, 800, 10],  // W2 output layer
  [64, 784, 64],   // W1 first layer
  [64, 64, 10],    // W1 output layer
];
const prefs = ['wasm-simd', 'wasm-scalar', 'ts'];

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;

const ref = await createBackend({ prefer: 'ts' });
for (const pref of prefs) {
  const be = await createBackend({ prefer: pref });
  for (const [B, C, OC] of shapes) {
    const x = Float32Array.from({ length: B * C }, rnd);
    const w = Float32Array.from({ length: C * OC }, rnd);
    const bias = Float32Array.from({ length: OC }, rnd);
    const run = (b) => {
      const tx = b.alloc('f32', B * C), tw = b.alloc('f32', C * OC), tb = b.alloc('f32', OC), to = b.alloc('f32', B * OC);
      b.write(tx, x); b.write(tw, w); b.write(tb, bias);
      return { tx, tw, tb, to };
    };
    const r = run(ref); ref.matmul_forward(r.to, r.tx, r.tw, r.tb, B, C, OC);
    const want = Float32Array.from(ref.view(r.to));
    const t = run(be); be.matmul_forward(t.to, t.tx, t.tw, t.tb, B, C, OC);
    const got = be.view(t.to);
    let maxRel = 0;
    for (let i = 0; i < want.length; i++) maxRel = Math.max(maxRel, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
    const flop = 2 * B * C * OC;
    const iters = Math.max(1, Math.round((pref === 'ts' ? 2e8 : 2e9) / flop));
    const times = [];
    for (let rep = 0; rep < 7; rep++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) be.matmul_forward(t.to, t.tx, t.tw, t.tb, B, C, OC);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9 / iters);
    }
    times.sort((a, b) => a - b);
    const g = (s) => (flop / s / 1e9).toFixed(2);
    console.log(`${pref.padEnd(12)} ${B}x${C}.${C}x${OC}`.padEnd(32), `maxRel ${maxRel.toExponential(1)}  GFLOP/s max ${g(times[0])} median ${g(times[3])}`);
  }
}
