/**
 * What TypeScript derives from the wasm interface (src/core/abi.ts), which asc reads too and so
 * cannot hold types: the kernels' raw exports, each a function of exactly its parameter count, and
 * the op list of the worker threads.
 */
import { KernelArgs, TeamKernel } from '../../core/abi.js';

/** N numbers */
type Args<N extends number, T extends number[] = []> = T['length'] extends N ? T : Args<N, [...T, number]>;
/** an enum member's value as a number literal type */
type Value<E> = `${E & number}` extends `${infer N extends number}` ? N : never;

export type KernelName = keyof typeof KernelArgs;
/**
 * the kernel exports (assembly/index.ts): byte offsets, i32 sizes, f32/f64 scalars; a result is an
 * f64 loss or an i32 count (a kernel without one returns undefined: read the result of those that return one)
 */
export type Kernels = { [K in KernelName]: (...args: Args<Value<(typeof KernelArgs)[K]>>) => number };

/** the member names of a TypeScript enum, in order (without its reverse mapping's numeric keys) */
const names = (e: object): string[] => Object.keys(e).filter((k) => !/^\d+$/.test(k));

/** every kernel export, in src/core/abi.ts's order */
export const KERNEL_NAMES = names(KernelArgs) as KernelName[];

/** a kernel the worker threads run; TeamKernel[op] is its number in the control block */
export type TeamOp = keyof typeof TeamKernel;
/** the team's kernels by number */
export const TEAM_OPS = names(TeamKernel) as TeamOp[];

export { KernelArgs, TeamKernel };
