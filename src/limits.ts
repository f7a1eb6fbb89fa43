/** Up-front memory accounting, so a plan that cannot fit is refused before anything is allocated. */
import type { Backend } from './backend.js';
import { SimdnetError } from './errors.js';
import { countNonzero, wantsSparseIndex } from './sparse.js';
import type { DataSet } from './model.js';

/** a wasm32 memory holds at most 65536 pages of 64 KiB */
export const WASM_MAX_BYTES = 2 ** 32;

const al16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Bytes a session plan needs on top of the model's parameters and gradients (`baseBytes`): the
 * activations for the batch, softmax outputs, two gradient buffers, labels and predictions, the
 * sample order, the optimizer state and the resident datasets (u8 images and labels, and the
 * non-zero lists of sparse ones).
 */
export function sessionBytes(p: { layers: number[]; batch: number; paramCount: number; nOpt: number; maxCount: number; datasets: DataSet[]; dropout?: number[] }): number {
  const { layers, batch } = p;
  const V = layers[layers.length - 1], widest = Math.max(...layers);
  let n = 0;
  for (const w of layers) n += al16(batch * w * 4);
  n += al16(batch * V * 4) + 2 * al16(batch * widest * 4) + 2 * al16(batch * 4) + al16(p.maxCount * 4);
  n += p.nOpt * al16(p.paramCount * 4);
  (p.dropout ?? []).forEach((r, l) => { if (r > 0) n += al16(batch * layers[l + 1] * 4); });
  for (const d of p.datasets) {
    n += al16(d.count * d.features) + al16(d.count);
    // the sparse first layer's non-zero lists (src/sparse.ts)
    if (wantsSparseIndex(d)) n += al16((d.count + 1) * 4) + al16(Math.max(1, countNonzero(d)) * 4);
  }
  return n;
}

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
