// Kernel scratch: a fixed region between the static data and heap_base(), so kernels never
// allocate and zero-filled buffers do not travel in the .wasm binary (memory.data would put them
// there). The host allocates tensors from heap_base() up (src/backends/wasm/index.ts), so a tensor
// never overlaps it, and a memory large enough to hold any tensor holds the scratch.
// Regions hold state within one kernel call only, so kernels of different families share them:
//   [0, SCRATCH_WT_AT)  the sparse kernels' batch column lists; conv2d_backward_filter's transposed
//                       gradient block (assembly/conv.ts, DW_T_CAP floats)
//   WT                  matmul's transposed weights; the convolutions' non-zero gradient lists;
//                       batch norm's f64 per-channel sums (assembly/batchnorm.ts)

/** offset of the transposed weights of narrow layers (assembly/matmul.ts: backward_dinp), 64 KiB */
export const SCRATCH_WT_AT: usize = 16400 + (65536 << 3);
/** offset of the 256 scaled pixel values of the sparse kernels (assembly/sparse.ts: valueTable), 1 KiB */
export const SCRATCH_VALS_AT: usize = SCRATCH_WT_AT + (16384 << 2);
/** offset of the packed panel of assembly/matmul.ts (packPanel8: a forward weight panel or a gradient's dout panel), 256 x 8 floats, 8 KiB */
export const SCRATCH_PANEL_AT: usize = SCRATCH_VALS_AT + (256 << 2);
/** offset of the word assembly/sparse.ts (touchRows) stores so that its loads stay, 16 bytes */
export const SCRATCH_TOUCH_AT: usize = SCRATCH_PANEL_AT + (256 << 5);
/** bytes reserved: the batch column lists of assembly/sparse.ts (16 KiB + 512 KiB), WT, the value table, the panel, the touch word */
export const SCRATCH_BYTES: usize = SCRATCH_TOUCH_AT + 16;

/** the region above the static data (16-byte aligned): the first instance's scratch, below heap_base() */
export const STATIC_SCRATCH: usize = (__heap_base + 15) & ~15;

/** this instance's scratch: STATIC_SCRATCH unless the host moved it (set_scratch) */
let scratchAt: usize = STATIC_SCRATCH;

/** first byte of the scratch region (16-byte aligned) */
// @ts-ignore: decorator
@inline
export function scratch(): usize {
  return scratchAt;
}

/**
 * Moves this instance's scratch to SCRATCH_BYTES at p (16-byte aligned, allocated by the host): a
 * second instance over the same shared memory (a worker thread, src/backends/wasm/threads.ts) needs
 * its own, since the kernels' scratch holds per-call state (the batch column lists). Globals are
 * per instance, so the first instance keeps the region above the static data.
 */
export function set_scratch(p: usize): void {
  scratchAt = p;
}
