/**
 * Finding, compiling and instantiating the simdnet kernels (build/simdnet-<variant>.wasm).
 *
 * - simdSupported(): WebAssembly.validate on a tiny module that uses one SIMD instruction
 *   (tfjs-backend-wasm / wasm-feature-detect style), so the SIMD binary is only picked where it runs.
 * - loadWasmModule(): compiles (and caches per variant) the binary from its default location next
 *   to the package, or from a caller-supplied URL, path, bytes or ready Module.
 * - instantiateKernels(): links a module to a host-owned WebAssembly.Memory (env.memory) and an
 *   env.abort that turns a failed kernel assert into a JS Error naming the message, file and line.
 */
import { SimdnetError } from '../../core/errors.js';

/** 'threads': the SIMD kernels over a shared memory, for a team of worker threads (src/backends/wasm/threads.ts) */
export type WasmVariant = 'simd' | 'scalar' | 'debug' | 'threads';
/** where the .wasm comes from: a URL, a path or URL string, the bytes, or a compiled module */
export type WasmSource = URL | string | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

/**
 * (module (func (result v128) i32.const 0 i8x16.splat))  — valid only where SIMD is supported
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: [] -> [v128]
  0x03, 0x02, 0x01, 0x00, //                         function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code: i32.const 0; i8x16.splat; i8x16.popcnt; end
]);

let simdCache: boolean | undefined;

/** true when this engine validates WebAssembly SIMD (fixed-width 128-bit) */
export function simdSupported(): boolean {
  if (simdCache === undefined) {
    try {
      simdCache = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
    } catch {
      simdCache = false;
    }
  }
  return simdCache;
}

const FILE_NAMES: Record<WasmVariant, string> = {
  simd: 'simdnet-simd.wasm',
  scalar: 'simdnet-scalar.wasm',
  debug: 'simdnet-debug.wasm',
  threads: 'simdnet-simd-threads.wasm',
};

/**
 * build/simdnet-<variant>.wasm, relative to this file (works from src/ under vitest and from dist/ in
 * the installed package). Each URL is written out as a literal `new URL('...', import.meta.url)` so
 * bundlers (Vite, webpack 5, Rollup, esbuild with a plugin) see it, copy the .wasm into the build and
 * rewrite the URL; a template string would hide the file from them.
 */
export function defaultWasmUrl(variant: WasmVariant): URL {
  switch (variant) {
    case 'simd':
      return new URL('../../../build/simdnet-simd.wasm', import.meta.url);
    case 'scalar':
      return new URL('../../../build/simdnet-scalar.wasm', import.meta.url);
    case 'debug':
      return new URL('../../../build/simdnet-debug.wasm', import.meta.url);
    case 'threads':
      return new URL('../../../build/simdnet-simd-threads.wasm', import.meta.url);
  }
  throw new SimdnetError(`unknown wasm variant '${String(variant)}' (expected simd, scalar, debug or threads)`);
}

const isNode = typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions?.node;

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** compile the kernels for `variant`, from `source` when given (cached per variant / per URL) */
export function loadWasmModule(variant: WasmVariant, source?: WasmSource): Promise<WebAssembly.Module> {
  if (!(variant in FILE_NAMES)) throw new SimdnetError(`unknown wasm variant '${String(variant)}' (expected simd, scalar, debug or threads)`);
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return compile(toBytes(source), 'the given bytes', variant);
  const location = source === undefined ? defaultWasmUrl(variant) : source;
  const key = `${variant} ${location instanceof URL ? location.href : location}`;
  let cached = moduleCache.get(key);
  if (!cached) {
    cached = fetchBytes(location).then((bytes) => compile(bytes, String(location instanceof URL ? location.href : location), variant));
    moduleCache.set(key, cached);
    cached.catch(() => moduleCache.delete(key)); // a failed load may succeed after `npm run asbuild`
  }
  return cached;
}

function toBytes(src: ArrayBuffer | ArrayBufferView): Uint8Array {
  return src instanceof ArrayBuffer ? new Uint8Array(src) : new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
}

async function compile(bytes: Uint8Array, where: string, variant: WasmVariant): Promise<WebAssembly.Module> {
  if (variant !== 'scalar' && !simdSupported()) {
    throw new SimdnetError(`this WebAssembly engine has no SIMD support; use the 'wasm-scalar' or 'ts' backend instead of wasm ${variant}`);
  }
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new SimdnetError(`cannot compile ${where}: ${(e as Error).message}`);
  }
}

async function fetchBytes(location: URL | string): Promise<Uint8Array> {
  const text = location instanceof URL ? location.href : location;
  try {
    if (isNode) {
      // Node: file: URLs and plain paths from disk; http(s) and data: URLs through fetch
      const url = location instanceof URL ? location : /^(file|https?|data):/i.test(location) ? new URL(location) : null;
      if (!url || url.protocol === 'file:') {
        const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
        const buf = await readFile(url ?? location);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      }
    }
    const res = await fetch(location);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    const hint = (e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (run `npm run asbuild` to build the kernels)' : '';
    throw new SimdnetError(`cannot load ${text}: ${(e as Error).message}${hint}`);
  }
}

/** an AssemblyScript stub-runtime string: UTF-16LE code units, byte length stored at ptr - 4 */
export function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const buf = memory.buffer;
  if (ptr < 4 || ptr > buf.byteLength) return `<string at ${ptr}>`;
  const bytes = new Uint32Array(buf, (ptr - 4) & ~3, 1)[0];
  if (ptr % 2 !== 0 || ptr + bytes > buf.byteLength) return `<string at ${ptr}>`;
  const units = new Uint16Array(buf, ptr, bytes >>> 1);
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.subarray(i, i + 4096));
  return s;
}

/** the import object every simdnet build expects: env.memory (host-owned) and env.abort */
export function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      abort(msg: number, file: number, line: number, column: number): never {
        throw new Error(`simdnet kernel abort: ${readAsString(memory, msg) || 'assertion failed'} (${readAsString(memory, file)}:${line}:${column})`);
      },
    },
  };
}

/** instantiate the kernels against `memory` */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<WebAssembly.Instance> {
  return WebAssembly.instantiate(module, kernelImports(memory));
}
