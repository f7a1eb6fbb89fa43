// Scratch check (not part of the library or tests, Linux): threaded backends dropped without close()
// stop their workers when garbage collected. Usage: npm run build && node --expose-gc dev/threads-gc.mjs
import { readFileSync } from 'node:fs';
import { createBackend } from '../dist/node.js';
const threads = () => +readFileSync('/proc/self/status', 'utf8').match(/Threads:\s+(\d+)/)[1];
console.log('threads at start', threads());
for (let i = 0; i < 10; i++) await createBackend({ prefer: 'wasm-simd', threads: 2 });
console.log('after 10 backends (not closed)', threads());
for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 200)); }
console.log('after gc', threads());
