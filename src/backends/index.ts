/**
 * createBackend: WASM SIMD where the engine validates the SIMD probe, else WASM scalar, else the
 * pure-TS reference. The choice can be forced (`prefer`, the CLI's --backend, or the
 * SIMDNET_BACKEND environment variable, which tests use).
 */
import type { Backend, BackendPreference } from '../core/backend.js';
import { SimdnetError, UsageError } from '../core/errors.js';
import { TsBackend } from './ts/index.js';
import { WasmBackend } from './wasm/index.js';
import { simdSupported, type WasmSource } from './wasm/loader.js';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'wasm', 'wasm-simd', 'wasm-scalar', 'ts'];

export interface CreateBackendOptions {
  /** default: the SIMDNET_BACKEND environment variable, else 'auto' */
  prefer?: BackendPreference;
  /** where to load the wasm from (URL, path, bytes or a compiled module), for CDNs, Electron or strict CSPs */
  wasm?: { simd?: WasmSource; scalar?: WasmSource; threads?: WasmSource };
  /**
   * threads that share the kernels (default 1): more than 1 starts threads - 1 worker threads over
   * one shared memory (wasm-simd; Node's worker_threads, or Web Workers in a cross-origin-isolated
   * page); results are bit-identical to 1.
   * Close the backend (`close()`) to stop them; idle workers never keep the process alive.
   */
  threads?: number;
}

/** a backend's name, with its thread count when it has more than one: 'wasm-simd (2 threads)' */
export function backendLabel(backend: Backend): string {
  const threads = (backend as { threads?: number }).threads ?? 1;
  return threads > 1 ? `${backend.name} (${threads} threads)` : backend.name;
}

/** the most threads createBackend starts */
export const MAX_THREADS = 64;

function envPreference(): BackendPreference | undefined {
  const env = typeof process !== 'undefined' ? process.env?.SIMDNET_BACKEND : undefined;
  return env ? (env as BackendPreference) : undefined;
}

export async function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  if (typeof options !== 'object' || options === null) throw new UsageError(`createBackend takes options, such as createBackend({ prefer: 'ts' }), got ${JSON.stringify(options)}`);
  const prefer = options.prefer ?? envPreference() ?? 'auto';
  if (!BACKEND_PREFERENCES.includes(prefer)) throw new UsageError(`unknown backend '${prefer}': use one of ${BACKEND_PREFERENCES.join(', ')}`);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new UsageError(`threads (--threads) must be an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);
  if (threads > 1 && (prefer === 'ts' || prefer === 'wasm-scalar')) throw new UsageError(`threads: ${threads} needs the wasm-simd backend, not ${prefer}: drop threads or use the wasm-simd backend`);
  if (prefer === 'ts') return new TsBackend();
  const hasWasm = typeof WebAssembly === 'object';
  const simd = hasWasm && simdSupported();
  if (threads > 1) {
    if (!simd) throw new SimdnetError(`threads: ${threads} needs WebAssembly SIMD, which this engine does not support: use threads: 1`);
    if (typeof SharedArrayBuffer === 'undefined') throw new SimdnetError(`threads: ${threads} needs SharedArrayBuffer, which this context does not have (in a browser, serve the page cross-origin isolated: Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp): use threads: 1`);
    return WasmBackend.createThreaded(threads, options.wasm?.threads);
  }
  if (prefer === 'wasm-simd' && !simd) throw new SimdnetError('this engine does not support WebAssembly SIMD: use --backend wasm-scalar or ts');
  if (!hasWasm) {
    if (prefer === 'auto') return new TsBackend();
    throw new SimdnetError('this engine has no WebAssembly: use --backend ts');
  }
  if (simd && prefer !== 'wasm-scalar') return WasmBackend.create('simd', options.wasm?.simd);
  try {
    return await WasmBackend.create('scalar', options.wasm?.scalar);
  } catch (e) {
    if (prefer === 'auto') return new TsBackend();
    throw e;
  }
}
