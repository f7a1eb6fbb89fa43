/**
 * The wasm interface is written once, in src/core/abi.ts: the four built binaries export exactly its
 * kernels, each with its parameter count (an exported wasm function's `length` is its parameter
 * count), and the team's kernels are among them.
 */
import { describe, expect, it } from 'vitest';
import { KernelArgs, TeamKernel } from '../src/core/abi.js';
import { instantiateKernels, loadWasmModule, type WasmVariant } from '../src/backends/wasm/loader.js';
import { KERNEL_NAMES, TEAM_OPS } from '../src/backends/wasm/kernels.js';

const VARIANTS: WasmVariant[] = ['simd', 'scalar', 'debug', 'threads'];

describe('the wasm interface (src/core/abi.ts)', () => {
  for (const variant of VARIANTS) {
    it(`the ${variant} build exports every kernel of the table with its parameter count, and nothing else`, async () => {
      const module = await loadWasmModule(variant);
      const memory = new WebAssembly.Memory(variant === 'threads' ? { initial: 64, maximum: 65536, shared: true } : { initial: 64 });
      const { exports } = await instantiateKernels(module, memory);
      const functions = Object.keys(exports).filter((name) => typeof exports[name] === 'function');
      expect(functions.filter((name) => !(name in KernelArgs)), 'exported but not in src/core/abi.ts').toEqual([]);
      expect(KERNEL_NAMES.filter((name) => !functions.includes(name)), 'in src/core/abi.ts but not exported').toEqual([]);
      const counts = Object.fromEntries(functions.map((name) => [name, (exports[name] as (...a: number[]) => unknown).length]));
      expect(counts).toEqual(Object.fromEntries(KERNEL_NAMES.map((name) => [name, KernelArgs[name]])));
    });
  }

  it("the team's kernels are kernels, numbered 0, 1, 2, ... without gaps", () => {
    expect(TEAM_OPS.length).toBeGreaterThan(0);
    for (const op of TEAM_OPS) expect(KERNEL_NAMES).toContain(op);
    expect(TEAM_OPS.map((op) => TeamKernel[op])).toEqual(TEAM_OPS.map((_, i) => i));
  });
});
