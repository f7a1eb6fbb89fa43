/**
 * When the first layer runs sparse. MNIST pixels are ~81% exact zeros; a batch whose inputs are at
 * most SPARSE_MAX_DENSITY non-zero runs X . W1 and X^T . dZ through per-row non-zero lists
 * (sparse_matmul_forward / sparse_matmul_backward), denser batches through the dense kernels, so
 * dense data never gets slower. The lists are built once per resident dataset, in wasm.
 */
import { NZ_MAX_COLUMNS } from '../core/backend.js';

/** the part of a DataSet (src/nn/model.ts) these functions read */
type Inputs = Readonly<{ images: Uint8Array; count: number; features: number }>;

/** a batch whose inputs are at most this dense runs the first layer sparse (zeros skipped) */
export const SPARSE_MAX_DENSITY = 0.4;

const nnzCache = new WeakMap<Inputs, number>();
/** non-zero inputs of a dataset (counted once per dataset object) */
export function countNonzero(d: Inputs): number {
  let n = nnzCache.get(d);
  if (n === undefined) {
    n = 0;
    const x = d.images, end = d.count * d.features;
    for (let i = 0; i < end; i++) if (x[i] !== 0) n++;
    nnzCache.set(d, n);
  }
  return n;
}
/** whether a dataset gets a sparse index: its overall density is low enough for the sparse path to pay */
export function wantsSparseIndex(d: Inputs): boolean {
  return d.features <= NZ_MAX_COLUMNS && countNonzero(d) <= SPARSE_MAX_DENSITY * d.count * d.features;
}
