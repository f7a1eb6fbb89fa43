// Scratch probe (not part of the library or tests): the f32x4 multiply + add peak of bench/peak.ts
// (the first row of `npm run bench`, which compiles it into build/peak.wasm) alone, 15 runs.
// Usage: npm run bench -- --quick (once, for build/peak.wasm), then node dev/peak.mjs
import { readFileSync } from 'node:fs';
const bytes = readFileSync(new URL('../build/peak.wasm', import.meta.url));
const mod = new WebAssembly.Module(bytes);
const imports = {};
for (const i of WebAssembly.Module.imports(mod)) { imports[i.module] ??= {}; imports[i.module][i.name] = i.kind === 'memory' ? new WebAssembly.Memory({ initial: 1 }) : () => {}; }
const inst = new WebAssembly.Instance(mod, imports);
const n = 2_000_000;
inst.exports.peak(1024, n);
const g = [];
for (let r = 0; r < 15; r++) { const t0 = performance.now(); inst.exports.peak(1024, n); g.push(n * 96 / ((performance.now() - t0) / 1000) / 1e9); }
g.sort((a, b) => a - b);
console.log('f32x4 mul+add peak GFLOP/s: median', g[7].toFixed(1), 'max', g[14].toFixed(1));
