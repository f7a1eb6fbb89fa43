/** Up-front memory accounting, so a plan that cannot fit is refused before anything is allocated. */
import type { Backend } from './backend.js';
import { SimdnetError } from './errors.js';

/** a wasm32 memory holds at most 65536 pages of 64 KiB */
export const WASM_MAX_BYTES = 2 ** 32;

/** refuse a plan beyond the 4 GiB wasm memory, giving the memory it would need (`what`: the parameter blocks rather than a session) */
export function checkPlanFits(backend: Backend, baseBytes: number, planBytes: number, batch: number, what?: string): void {
  if (!backend.name.startsWith('wasm')) return;
  const need = baseBytes + planBytes;
  if (need > WASM_MAX_BYTES) {
    const gib = (need / 2 ** 30).toFixed(2);
    throw new SimdnetError(
      what
        ? `${what} need ${need} bytes (${gib} GiB) of WebAssembly memory with their gradients, more than the 4 GiB a wasm32 memory can hold; use a smaller network`
        : `this network with batch size ${batch} needs ${need} bytes (${gib} GiB) of WebAssembly memory, more than the 4 GiB a wasm32 memory can hold; use a smaller batch size, network or dataset`,
    );
  }
}
