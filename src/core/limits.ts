/** Up-front memory accounting, so a plan that cannot fit is refused before anything is allocated. */
import type { Backend } from './backend.js';
import { SimdnetError } from './errors.js';

/** a wasm32 memory holds at most 65536 pages of 64 KiB */
export const WASM_MAX_BYTES = 2 ** 32;

/** refuse a plan beyond the 4 GiB wasm memory, giving the memory it would need */
export function checkPlanFits(backend: Backend, baseBytes: number, planBytes: number, batch: number): void {
  if (!backend.name.startsWith('wasm')) return;
  const need = baseBytes + planBytes;
  if (need > WASM_MAX_BYTES) {
    throw new SimdnetError(
      `this network with batch size ${batch} needs ${need} bytes (${(need / 2 ** 30).toFixed(2)} GiB) of WebAssembly memory, more than the 4 GiB a wasm32 memory can hold; use a smaller batch size, network or dataset`,
    );
  }
}
