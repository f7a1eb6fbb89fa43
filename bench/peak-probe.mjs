/** bench/peak.ts (this machine's f32x4 multiply + add peak) compiled to build/peak.wasm and instantiated; throws when asc cannot build it */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** FLOPs of one inner iteration of peak(): 12 accumulators x 4 lanes x (multiply + add) */
export const PEAK_FLOPS_PER_ITER = 96;

/** the instance's exports: peak(offset, iterations) */
export function compilePeak() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const out = join(root, 'build', 'peak.wasm');
  const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
  // from bench/, so the project's asconfig.json (the library's entries) is not applied
  execFileSync(process.execPath, [asc, 'peak.ts', '-O3', '--enable', 'simd', '--runtime', 'stub', '--initialMemory', '1', '--outFile', out], { cwd: join(root, 'bench'), stdio: 'pipe' });
  return new WebAssembly.Instance(new WebAssembly.Module(readFileSync(out)), { env: { abort() {} } }).exports;
}
