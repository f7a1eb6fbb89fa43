/** Every backend the tests run against, created fresh per use (each owns its memory). */
import type { Backend } from '../../src/core/backend.js';
import { TsBackend } from '../../src/backends/ts/index.js';
import { WasmBackend } from '../../src/backends/wasm/index.js';

export const BACKENDS: { name: string; create: () => Promise<Backend> }[] = [
  { name: 'ts', create: async () => new TsBackend() },
  { name: 'wasm-simd', create: () => WasmBackend.create('simd') },
  { name: 'wasm-scalar', create: () => WasmBackend.create('scalar') },
  { name: 'wasm-debug', create: () => WasmBackend.create('debug') },
];
