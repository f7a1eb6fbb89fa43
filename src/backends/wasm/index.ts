/**
 * The WebAssembly backend: the kernels in assembly/ (one source, built as SIMD, scalar and debug
 * binaries) over one host-owned WebAssembly.Memory per instance.
 *
 * Memory plan: a bump allocator from heap_base() (rounded up to 16) with a list of holes. alloc()
 * hands out 16-byte aligned, zero-filled tensors, from the smallest hole that holds it or else from
 * the top, and is the only place memory grows; free() turns an allocation into a hole (a hole that
 * reaches the top lowers it), mark()/release() move the top back. Tensors are handles (dtype,
 * length, byteOffset), so they survive growth; typed-array views are remade whenever memory.buffer
 * changes. Ops pass byteOffsets straight to the kernels.
 */
import type { Backend, BackendName, DType, Tensor, TypedArrayOf } from '../../core/backend.js';
import { Activation, BYTES, checkConvActivation, checkNzColumns, conv2dShape, dropoutParams } from '../../core/backend.js';
import { SimdnetError } from '../../core/errors.js';
import { instantiateKernels, loadWasmModule, simdSupported, type WasmSource, type WasmVariant } from './loader.js';
import { CONTROL_BYTES, Team } from './threads.js';
import type { Kernels, TeamOp } from './kernels.js';
import { CSC_MAX_COLUMNS } from '../../core/abi.js';

export { simdSupported, loadWasmModule, type WasmSource, type WasmVariant } from './loader.js';

const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB
const MAX_BYTES = MAX_PAGES * PAGE;

/** elementwise ops (updates, fill, the non-finite count) are split between threads from this many elements */
const SPLIT_MIN_ELEMENTS = 1 << 14;
/**
 * activations are split between threads from this many values: sigmoid and tanh (an exp per value)
 * from 4,096 (2 threads: 0.84x the time there), ReLU and linear from 65,536 (at 40,960 still 1.14x:
 * the worker's half of the values comes from the other core's cache) and the backward from 32,768
 * (0.90x) (`node bench/ab/kernels.mjs --a threads=2 --b threads=1 --kernel sigmoid,relu,relu-bwd --n 4096,40960`)
 */
const SPLIT_MIN_EXPS = 1 << 12, SPLIT_MIN_CHEAP = 1 << 16, SPLIT_MIN_ACT_BACKWARD = 1 << 15;
/** dropout (a hash per unit, SIMD) is split between threads from this many units (2 threads: 51,200 1.12x the time of one, 65,536 0.78-0.97x, 102,400 0.77x) */
const SPLIT_MIN_DROPOUT = 1 << 16;
/**
 * dense products are split between threads from this many multiply-adds (B x C x OC): with 2
 * threads 64x64x10 took 1.17x (forward) and 1.20x (backward) the time of one (0.99x and 1.01x in a
 * second run), 128x64x10 0.76x and 0.85x, 64x800x800 0.57x and 0.54x (`node bench/ab/kernels.mjs --a threads=2
 * --b threads=1 --kernel mm-fwd,mm-bwd --shape 64x64x10,128x64x10,64x800x800`)
 */
const SPLIT_MIN_PRODUCTS = 1 << 16;

const align16 = (n: number) => Math.ceil(n / 16) * 16;
const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);

/** the teams of threaded backends, stopped when their backend is garbage collected */
const teamsToStop = new FinalizationRegistry<Team>((team) => void team.close());

/**
 * The split kernels' argument check: the kernels check their spans (checkSpan) only for the part
 * each thread runs, so the whole call's tensors are checked here against their stated sizes.
 */
function checkSpans(op: string, ...spans: [Tensor, number][]): void {
  for (const [t, n] of spans) if (n > t.length) throw new RangeError(`${op}: a tensor of ${t.length} elements where ${n} are needed`);
}
const off = (t: Tensor | null) => (t ? t.byteOffset : 0);

/** the convolution kernels' sizes, range and tensor spans (the release kernels trust them) */
function checkConv(op: string, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, lo: number, hi: number, top: number, spans: [Tensor | null, number][]): void {
  const dims = [B, H, W, C, OC, KH, KW, S];
  if (!dims.every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 31) || S < 1 || KH < 1 || KW < 1) throw new RangeError(`${op}: bad sizes ${dims.join(', ')}`);
  const { OH, OW } = conv2dShape(H, W, KH, KW, S, same);
  if (OH < 1 || OW < 1) throw new RangeError(`${op}: a ${KH}x${KW} window does not fit a ${H}x${W} input with 'valid' padding`);
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo <= hi && hi <= top)) throw new RangeError(`${op}: range [${lo}, ${hi}) outside [0, ${top})`);
  checkSpans(op, ...spans.filter((s): s is [Tensor, number] => s[0] !== null));
}

export class WasmBackend implements Backend {
  readonly name: BackendName;
  /** which binary runs: 'simd', 'scalar' or 'debug' (SIMD with asserts on) */
  readonly variant: WasmVariant;
  /** this instance's memory (never shared with another backend) */
  readonly memory: WebAssembly.Memory;
  private readonly k: Kernels;
  /** first allocatable byte */
  readonly base: number;
  private top: number;
  /** bytes below this may hold old data (handed out before a release) */
  private dirty: number;
  /** freed ranges below top: [start, end) pairs, sorted, never adjacent (adjacent holes merge) */
  private holes: number[] = [];
  private buf: ArrayBuffer | null = null;
  private f32!: Float32Array;
  private i32!: Int32Array;
  private u8!: Uint8Array;

  /** the worker threads that share the kernels with the calling thread (threads > 1) */
  private team: Team | null = null;

  private constructor(variant: WasmVariant, memory: WebAssembly.Memory, instance: WebAssembly.Instance) {
    this.variant = variant;
    this.name = variant === 'scalar' ? 'wasm-scalar' : 'wasm-simd';
    this.memory = memory;
    this.k = instance.exports as unknown as Kernels;
    this.base = align16(this.k.heap_base());
    this.top = this.base;
    this.dirty = this.base;
  }

  /** compile (cached) and instantiate the kernels over a fresh memory */
  static async create(variant: WasmVariant = 'simd', source?: WasmSource): Promise<WasmBackend> {
    const module = await loadWasmModule(variant, source);
    const shared = variant === 'threads';
    // the module declares its minimum memory (static data); start small and retry larger if needed
    for (let pages = 1; ; pages *= 4) {
      const memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: MAX_PAGES, shared: true } : { initial: pages });
      try {
        return new WasmBackend(variant, memory, await instantiateKernels(module, memory));
      } catch (e) {
        if (!(e instanceof WebAssembly.LinkError) || pages >= 1024) throw e;
      }
    }
  }

  /**
   * The SIMD kernels shared by `threads` threads (this one and threads - 1 workers: Node's
   * worker_threads or Web Workers) over one shared memory: the sparse and dense products, the
   * convolutions, pooling and batch norm (their ranges: batch rows, output channels, channels), the
   * activations, dropout and the elementwise ops of the updates are split between them (each op
   * below says how, and from what size), with results bit-identical to one thread.
   */
  static async createThreaded(threads: number, source?: WasmSource, spin?: boolean): Promise<WasmBackend> {
    const module = await loadWasmModule('threads', source);
    const be = await WasmBackend.create('threads', module);
    const workers = threads - 1;
    const control: number[] = [], scratch: number[] = [];
    for (let i = 0; i < workers; i++) {
      control.push(be.alloc('u8', CONTROL_BYTES).byteOffset);
      scratch.push(be.alloc('u8', be.k.scratch_bytes()).byteOffset);
    }
    be.team = await Team.start(module, be.memory, control, scratch, spin);
    // a backend dropped without close() (a Model.create model's, say) stops its workers when collected
    teamsToStop.register(be, be.team, be);
    return be;
  }

  /** whether the team's threads poll before they sleep (no more threads than CPUs; Team.spinning) */
  get spinning(): boolean {
    return this.team?.spinning ?? false;
  }

  /** threads that run this backend's kernels: 1, or the size of its team */
  get threads(): number {
    return this.team ? this.team.size : 1;
  }

  /** stops the worker threads, if any (the backend then refuses the split kernels); idempotent */
  async close(): Promise<void> {
    if (!this.team) return;
    teamsToStop.unregister(this);
    await this.team.close();
  }

  /** true when the SIMD binary can run here */
  static simdSupported(): boolean {
    return simdSupported();
  }

  private views(): void {
    const b = this.memory.buffer;
    if (b !== this.buf) {
      this.buf = b;
      this.f32 = new Float32Array(b);
      this.i32 = new Int32Array(b);
      this.u8 = new Uint8Array(b);
    }
  }

  // ---- memory -------------------------------------------------------------------------------
  alloc<D extends DType>(dtype: D, length: number): Tensor<D> {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc: invalid length ${length}`);
    const bytes = length * BYTES[dtype];
    const size = align16(bytes);
    const h = this.bestHole(size);
    if (h >= 0) {
      // the smallest hole that holds it (holes are below top: no growth)
      const start = this.holes[h];
      if (start + size === this.holes[h + 1]) this.holes.splice(h, 2);
      else this.holes[h] = start + size;
      this.zero(start, start + size);
      return { dtype, length, byteOffset: start };
    }
    const start = this.top;
    const end = start + size;
    if (end > MAX_BYTES) {
      throw new SimdnetError(
        `out of WebAssembly memory: allocating ${bytes} bytes (${dtype} x ${length}) needs ${end} bytes in total, more than the 4 GiB (${MAX_BYTES} bytes) a wasm32 memory can hold; use a smaller batch, model or dataset`,
        2,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.grow(end);
    this.zero(start, end);
    this.top = end;
    if (end > this.dirty) this.dirty = end;
    return { dtype, length, byteOffset: start };
  }

  /**
   * zero [start, end) where it may hold old data (16-byte aligned bounds), with the fill kernel:
   * TypedArray fill on a shared memory (the threads build's) stores byte by byte, 6-8x slower here
   */
  private zero(start: number, end: number): void {
    if (start < this.dirty) this.k.fill(start, (Math.min(end, this.dirty) - start) / 4, 0);
  }

  /** index (into holes) of the smallest hole of at least `size` bytes, or -1 */
  private bestHole(size: number): number {
    let best = -1;
    for (let i = 0; i < this.holes.length; i += 2) {
      const n = this.holes[i + 1] - this.holes[i];
      if (n >= size && (best < 0 || n < this.holes[best + 1] - this.holes[best])) best = i;
    }
    return best;
  }

  free(t: Tensor): void {
    const start = t.byteOffset, end = start + align16(t.length * BYTES[t.dtype]);
    if (end === start) return; // nothing to give back
    if (!Number.isInteger(start) || start < this.base || end > this.top || start % 16) throw new RangeError(`free: not an allocation of this backend (bytes ${start}..${end})`);
    // insert [start, end) in order, refusing overlaps (a double free), merging neighbours
    const H = this.holes;
    let i = 0;
    while (i < H.length && H[i] < start) i += 2;
    if ((i > 0 && H[i - 1] > start) || (i < H.length && H[i] < end)) throw new RangeError(`free: bytes ${start}..${end} are already free`);
    let s = start, e = end, from = i, count = 0;
    if (i > 0 && H[i - 1] === start) { s = H[i - 2]; from = i - 2; count += 2; }
    if (i < H.length && H[i] === end) { e = H[i + 1]; count += 2; }
    H.splice(from, count, s, e);
    this.trimTop();
  }

  /** a hole that reaches the top lowers it */
  private trimTop(): void {
    const H = this.holes;
    while (H.length && H[H.length - 1] >= this.top) {
      const s = H[H.length - 2];
      H.length -= 2;
      if (s < this.top) this.top = s;
    }
  }

  private grow(end: number): void {
    const cur = this.memory.buffer.byteLength / PAGE;
    const need = Math.ceil(end / PAGE);
    // grow by at least half again, so a sequence of small allocations does not grow page by page
    const want = Math.min(MAX_PAGES, Math.max(need, Math.ceil(cur * 1.5)));
    try {
      this.memory.grow(want - cur);
    } catch {
      try {
        if (want !== need) this.memory.grow(need - cur);
        else throw new Error('grow failed');
      } catch {
        throw new SimdnetError(`out of memory: could not grow WebAssembly memory to ${need * PAGE} bytes (from ${cur * PAGE})`, 2);
      }
    }
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < this.base || mark > this.top) throw new RangeError(`release: invalid mark ${mark}`);
    this.top = mark;
    // holes above the new top are gone; one that now reaches it lowers it
    const H = this.holes;
    while (H.length && H[H.length - 2] >= mark) H.length -= 2;
    if (H.length && H[H.length - 1] > mark) H[H.length - 1] = mark;
    this.trimTop();
  }

  slice<D extends DType>(t: Tensor<D>, start: number, length: number): Tensor<D> {
    if (start < 0 || length < 0 || start + length > t.length) throw new RangeError(`slice [${start}, ${start + length}) outside tensor of ${t.length}`);
    return { dtype: t.dtype, length, byteOffset: t.byteOffset + start * BYTES[t.dtype] };
  }

  write<D extends DType>(t: Tensor<D>, src: ArrayLike<number>, at = 0): void {
    if (at < 0 || at + src.length > t.length) throw new RangeError(`write of ${src.length} at ${at} outside tensor of ${t.length}`);
    this.views();
    const arr = t.dtype === 'f32' ? this.f32 : t.dtype === 'i32' ? this.i32 : this.u8;
    arr.set(src, t.byteOffset / BYTES[t.dtype] + at);
  }

  read<D extends DType>(t: Tensor<D>): TypedArrayOf<D> {
    return this.view(t).slice() as TypedArrayOf<D>;
  }

  view<D extends DType>(t: Tensor<D>): TypedArrayOf<D> {
    this.views();
    const b = this.buf!;
    if (t.dtype === 'f32') return new Float32Array(b, t.byteOffset, t.length) as TypedArrayOf<D>;
    if (t.dtype === 'i32') return new Int32Array(b, t.byteOffset, t.length) as TypedArrayOf<D>;
    return new Uint8Array(b, t.byteOffset, t.length) as TypedArrayOf<D>;
  }

  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  // ---- ops ------------------------------------------------------------------------------------
  fill(out: Tensor<'f32'>, N: number, value: number): void {
    const at = this.elementParts(N);
    if (!at) {
      this.k.fill(out.byteOffset, N, value);
      return;
    }
    checkSpans('fill', [out, N]);
    this.inParts('fill', at, (lo, hi) => [out.byteOffset + lo * 4, hi - lo, value]);
  }
  gather_rows_u8(out: Tensor<'f32'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, B: number, C: number, scale: number): void {
    this.k.gather_rows_u8(out.byteOffset, src.byteOffset, idx.byteOffset, B, C, scale);
  }
  gather_u8(out: Tensor<'i32'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, B: number): void {
    this.k.gather_u8(out.byteOffset, src.byteOffset, idx.byteOffset, B);
  }
  matmul_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, C: number, OC: number): void {
    if (!this.team || B < 2 || B * C * OC < SPLIT_MIN_PRODUCTS) {
      this.k.matmul_forward(out.byteOffset, inp.byteOffset, weight.byteOffset, off(bias), B, C, OC);
      return;
    }
    // the rows of the batch: each output row is its own sums, whichever thread makes it
    checkSpans('matmul_forward', [out, B * OC], [inp, B * C], [weight, C * OC], ...(bias ? [[bias, OC] as [Tensor, number]] : []));
    this.inParts('matmul_forward', this.parts(B), (lo, hi) => [out.byteOffset + lo * OC * 4, inp.byteOffset + lo * C * 4, weight.byteOffset, off(bias), hi - lo, C, OC]);
  }
  matmul_backward(dinp: Tensor<'f32'> | null, dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, B: number, C: number, OC: number): void {
    const n = this.team ? Math.min(this.team.size, B, C) : 1;
    if (n < 2 || B * C * OC < SPLIT_MIN_PRODUCTS) {
      this.k.matmul_backward(off(dinp), dweight.byteOffset, off(dbias), dout.byteOffset, inp.byteOffset, weight.byteOffset, B, C, OC);
      return;
    }
    // each thread takes rows of the batch for dinp and rows of dweight (inputs), both in fours: the
    // dinp kernel makes 4 rows at a time with other roundings than a lone row (bit-identical only if
    // every part starts where one call's group of 4 does); this one also sums dbias
    checkSpans('matmul_backward', [dout, B * OC], [inp, B * C], [weight, C * OC], [dweight, C * OC], ...(dinp ? [[dinp, B * C] as [Tensor, number]] : []), ...(dbias ? [[dbias, OC] as [Tensor, number]] : []));
    const rows = this.parts(B, 4, n), inputs = this.parts(C, 4, n);
    this.inParts('matmul_backward_part', inputs, (lo, hi, t) => [off(dinp), dweight.byteOffset, t ? 0 : off(dbias), dout.byteOffset, inp.byteOffset, weight.byteOffset, B, C, OC, rows[t], rows[t + 1], lo, hi]);
  }
  activation_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, act: number): void {
    const at = this.elementParts(N, act === Activation.sigmoid || act === Activation.tanh ? SPLIT_MIN_EXPS : SPLIT_MIN_CHEAP);
    if (!at) {
      this.k.activation_forward(out.byteOffset, inp.byteOffset, N, act);
      return;
    }
    checkSpans('activation_forward', [out, N], [inp, N]);
    this.inParts('activation_forward', at, (lo, hi) => [out.byteOffset + lo * 4, inp.byteOffset + lo * 4, hi - lo, act]);
  }
  activation_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, out: Tensor<'f32'>, N: number, act: number): void {
    const at = this.elementParts(N, SPLIT_MIN_ACT_BACKWARD);
    if (!at) {
      this.k.activation_backward(dinp.byteOffset, dout.byteOffset, out.byteOffset, N, act);
      return;
    }
    checkSpans('activation_backward', [dinp, N], [dout, N], [out, N]);
    this.inParts('activation_backward', at, (lo, hi) => [dinp.byteOffset + lo * 4, dout.byteOffset + lo * 4, out.byteOffset + lo * 4, hi - lo, act]);
  }
  softmax_xent_forward(probs: Tensor<'f32'>, logits: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, smoothing = 0): number {
    return this.k.softmax_xent_forward(probs.byteOffset, logits.byteOffset, labels.byteOffset, B, V, smoothing);
  }
  softmax_xent_backward(dlogits: Tensor<'f32'>, probs: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, scale: number, smoothing = 0): void {
    this.k.softmax_xent_backward(dlogits.byteOffset, probs.byteOffset, labels.byteOffset, B, V, scale, smoothing);
  }
  sigmoid_mse_forward(probs: Tensor<'f32'>, logits: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number): number {
    return this.k.sigmoid_mse_forward(probs.byteOffset, logits.byteOffset, labels.byteOffset, B, V);
  }
  sigmoid_mse_backward(dlogits: Tensor<'f32'>, probs: Tensor<'f32'>, labels: Tensor<'i32'>, B: number, V: number, scale: number): void {
    this.k.sigmoid_mse_backward(dlogits.byteOffset, probs.byteOffset, labels.byteOffset, B, V, scale);
  }
  argmax_rows(out: Tensor<'i32'>, scores: Tensor<'f32'>, labels: Tensor<'i32'> | null, B: number, V: number): number {
    return this.k.argmax_rows(out.byteOffset, scores.byteOffset, off(labels), B, V);
  }
  sgd_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, N: number, lr: number, weightDecay: number): number {
    const at = this.elementParts(N);
    if (!at) return this.k.sgd_update(params.byteOffset, grads.byteOffset, N, lr, weightDecay);
    checkSpans('sgd_update', [params, N], [grads, N]);
    const bad = this.count_nonfinite(grads, N); // nothing changes unless every gradient is finite, as in one call
    if (bad) return bad;
    const P = params.byteOffset, G = grads.byteOffset;
    return sum(this.inParts('sgd_update', at, (lo, hi) => [P + lo * 4, G + lo * 4, hi - lo, lr, weightDecay]));
  }
  momentum_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, vel: Tensor<'f32'>, N: number, lr: number, mu: number, weightDecay: number, nesterov: number): number {
    const nes = nesterov ? 1 : 0;
    const at = this.elementParts(N);
    if (!at) return this.k.momentum_update(params.byteOffset, grads.byteOffset, vel.byteOffset, N, lr, mu, weightDecay, nes);
    checkSpans('momentum_update', [params, N], [grads, N], [vel, N]);
    const bad = this.count_nonfinite(grads, N);
    if (bad) return bad;
    const P = params.byteOffset, G = grads.byteOffset, V = vel.byteOffset;
    return sum(this.inParts('momentum_update', at, (lo, hi) => [P + lo * 4, G + lo * 4, V + lo * 4, hi - lo, lr, mu, weightDecay, nes]));
  }
  adam_update(params: Tensor<'f32'>, grads: Tensor<'f32'>, m: Tensor<'f32'>, v: Tensor<'f32'>, N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: number, bc1: number, bc2: number): number {
    const dec = decoupled ? 1 : 0;
    const at = this.elementParts(N);
    if (!at) return this.k.adam_update(params.byteOffset, grads.byteOffset, m.byteOffset, v.byteOffset, N, lr, beta1, beta2, eps, weightDecay, dec, bc1, bc2);
    checkSpans('adam_update', [params, N], [grads, N], [m, N], [v, N]);
    const bad = this.count_nonfinite(grads, N);
    if (bad) return bad;
    const P = params.byteOffset, G = grads.byteOffset, M = m.byteOffset, V = v.byteOffset;
    return sum(this.inParts('adam_update', at, (lo, hi) => [P + lo * 4, G + lo * 4, M + lo * 4, V + lo * 4, hi - lo, lr, beta1, beta2, eps, weightDecay, dec, bc1, bc2]));
  }
  count_nonfinite(x: Tensor<'f32'>, N: number): number {
    const at = this.elementParts(N);
    if (!at) return this.k.count_nonfinite(x.byteOffset, N);
    checkSpans('count_nonfinite', [x, N]);
    return sum(this.inParts('count_nonfinite', at, (lo, hi) => [x.byteOffset + lo * 4, hi - lo]));
  }

  /**
   * The part boundaries [at[t], at[t + 1]) that split X items (rows, inputs or elements) into n
   * parts (default one per thread, fewer when X is smaller), at multiples of `align`.
   */
  private parts(X: number, align = 1, n = Math.min(this.team!.size, X)): number[] {
    return Array.from({ length: n + 1 }, (_, t) => (t === n ? X : Math.floor((X * t) / n / align) * align));
  }

  /**
   * The parts of an elementwise op over N elements, at multiples of 4 elements (so every part's
   * pointers keep the 16-byte alignment); null: one call does it all (one thread, or fewer than
   * `min` elements, too few for a round trip to pay).
   */
  private elementParts(N: number, min = SPLIT_MIN_ELEMENTS): number[] | null {
    return this.team && N >= min ? this.parts(N, 4) : null;
  }

  /**
   * Runs kernel `op` once per part of `at` (parts): part 0 on this thread, the others on the
   * workers, each with the arguments args(lo, hi, t) gives it; returns the parts' results in order.
   */
  private inParts(op: TeamOp, at: number[], args: (lo: number, hi: number, t: number) => number[]): number[] {
    const team = this.team!, parts = at.length - 1;
    for (let t = 1; t < parts; t++) team.post(t - 1, op, args(at[t], at[t + 1], t));
    const kernel = this.k[op] as (...a: number[]) => number | void;
    return team.alongside(parts - 1, () => kernel(...args(at[0], at[1], 0)));
  }
  nz_count(nzStart: Tensor<'i32'>, src: Tensor<'u8'>, rows: number, C: number): number {
    return this.k.nz_count(nzStart.byteOffset, src.byteOffset, rows, C);
  }
  nz_fill(nzIdx: Tensor<'i32'>, nzStart: Tensor<'i32'>, src: Tensor<'u8'>, rows: number, C: number): void {
    checkNzColumns(C);
    this.k.nz_fill(nzIdx.byteOffset, nzStart.byteOffset, src.byteOffset, rows, C);
  }
  conv2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, act: number, b0 = 0, b1 = B): void {
    const { OH, OW } = conv2dShape(H, W, KH, KW, S, same);
    checkConvActivation(act);
    checkConv('conv2d_forward', B, H, W, C, OC, KH, KW, S, same, b0, b1, B, [[out, B * OH * OW * OC], [inp, B * H * W * C], [weight, KH * KW * C * OC], [bias, OC]]);
    this.ranged('conv2d_forward', b0, b1, B * OH * OW * OC * KH * KW * C, SPLIT_MIN_PRODUCTS, (lo, hi) => [out.byteOffset, inp.byteOffset, weight.byteOffset, off(bias), B, H, W, C, OC, KH, KW, S, same ? 1 : 0, act, lo, hi]);
  }
  conv2d_filter_transpose(weightT: Tensor<'f32'>, weight: Tensor<'f32'>, KH: number, KW: number, C: number, OC: number): void {
    checkSpans('conv2d_filter_transpose', [weightT, KH * KW * C * OC], [weight, KH * KW * C * OC]);
    this.k.conv2d_filter_transpose(weightT.byteOffset, weight.byteOffset, KH, KW, C, OC);
  }
  conv2d_backward_input(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, weightT: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    const { OH, OW } = conv2dShape(H, W, KH, KW, S, same);
    checkConv('conv2d_backward_input', B, H, W, C, OC, KH, KW, S, same, b0, b1, B, [[dinp, B * H * W * C], [dout, B * OH * OW * OC], [weightT, KH * KW * C * OC]]);
    this.ranged('conv2d_backward_input', b0, b1, B * OH * OW * OC * KH * KW * C, SPLIT_MIN_PRODUCTS, (lo, hi) => [dinp.byteOffset, dout.byteOffset, weightT.byteOffset, B, H, W, C, OC, KH, KW, S, same ? 1 : 0, lo, hi]);
  }
  conv2d_backward_filter(dweight: Tensor<'f32'>, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, OC: number, KH: number, KW: number, S: number, same: boolean, o0 = 0, o1 = OC): void {
    const { OH, OW } = conv2dShape(H, W, KH, KW, S, same);
    checkConv('conv2d_backward_filter', B, H, W, C, OC, KH, KW, S, same, o0, o1, OC, [[dweight, KH * KW * C * OC], [dout, B * OH * OW * OC], [inp, B * H * W * C], [dbias, OC]]);
    const R = KH * KW * C; // rows of dweight: (kh, kw, c)
    // the rows between the threads, each over channels [o0, o1) (a split of the channels would leave
    // each thread narrower register tiles over the same input pixels), in fours of input channels;
    // dbias (about one row's work) on this thread, whose part has no more rows than the others
    this.ranged('conv2d_backward_filter', 0, R, B * OH * OW * (o1 - o0) * R, SPLIT_MIN_PRODUCTS, (lo, hi, t) => [dweight.byteOffset, t ? 0 : off(dbias), dout.byteOffset, inp.byteOffset, B, H, W, C, OC, KH, KW, S, same ? 1 : 0, o0, o1, lo, hi], C % 4 ? 1 : 4);
  }
  maxpool2d_forward(out: Tensor<'f32'>, argmax: Tensor<'i32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    const n = this.checkPool('maxpool2d_forward', B, H, W, C, K, S, same, b0, b1);
    checkSpans('maxpool2d_forward', [out, n], [argmax, n], [inp, B * H * W * C]);
    this.ranged('maxpool2d_forward', b0, b1, B * H * W * C, SPLIT_MIN_CHEAP, (lo, hi) => [out.byteOffset, argmax.byteOffset, inp.byteOffset, B, H, W, C, K, S, same ? 1 : 0, lo, hi]);
  }
  maxpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, argmax: Tensor<'i32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    const n = this.checkPool('maxpool2d_backward', B, H, W, C, K, S, same, b0, b1);
    checkSpans('maxpool2d_backward', [dinp, B * H * W * C], [dout, n], [argmax, n]);
    this.ranged('maxpool2d_backward', b0, b1, B * H * W * C, SPLIT_MIN_CHEAP, (lo, hi) => [dinp.byteOffset, dout.byteOffset, argmax.byteOffset, B, H, W, C, K, S, same ? 1 : 0, lo, hi]);
  }
  avgpool2d_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    const n = this.checkPool('avgpool2d_forward', B, H, W, C, K, S, same, b0, b1);
    checkSpans('avgpool2d_forward', [out, n], [inp, B * H * W * C]);
    this.ranged('avgpool2d_forward', b0, b1, B * H * W * C, SPLIT_MIN_CHEAP, (lo, hi) => [out.byteOffset, inp.byteOffset, B, H, W, C, K, S, same ? 1 : 0, lo, hi]);
  }
  avgpool2d_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0 = 0, b1 = B): void {
    const n = this.checkPool('avgpool2d_backward', B, H, W, C, K, S, same, b0, b1);
    checkSpans('avgpool2d_backward', [dinp, B * H * W * C], [dout, n]);
    this.ranged('avgpool2d_backward', b0, b1, B * H * W * C, SPLIT_MIN_CHEAP, (lo, hi) => [dinp.byteOffset, dout.byteOffset, B, H, W, C, K, S, same ? 1 : 0, lo, hi]);
  }
  global_avgpool_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, B: number, N: number, C: number, b0 = 0, b1 = B): void {
    checkConv('global_avgpool_forward', B, N, 1, C, 1, 1, 1, 1, false, b0, b1, B, [[out, B * C], [inp, B * N * C]]);
    this.ranged('global_avgpool_forward', b0, b1, B * N * C, SPLIT_MIN_CHEAP, (lo, hi) => [out.byteOffset, inp.byteOffset, B, N, C, lo, hi]);
  }
  global_avgpool_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, B: number, N: number, C: number, b0 = 0, b1 = B): void {
    checkConv('global_avgpool_backward', B, N, 1, C, 1, 1, 1, 1, false, b0, b1, B, [[dinp, B * N * C], [dout, B * C]]);
    this.ranged('global_avgpool_backward', b0, b1, B * N * C, SPLIT_MIN_CHEAP, (lo, hi) => [dinp.byteOffset, dout.byteOffset, B, N, C, lo, hi]);
  }
  /**
   * A kernel whose last two arguments are a range [lo, hi) (batch rows or channels, whose sums no
   * split divides): one call, or with a team and at least `min` of `work` the range split between
   * the threads (at multiples of `align` from lo), bit-identical to one call; args(lo, hi, t) gives a
   * part's arguments, t its thread (0: this one, which also makes the one call)
   */
  private ranged(op: TeamOp, lo: number, hi: number, work: number, min: number, args: (lo: number, hi: number, t: number) => number[], align = 1): void {
    const n = this.team ? Math.min(this.team.size, hi - lo) : 1;
    if (n < 2 || work < min) {
      (this.k[op] as (...a: number[]) => void)(...args(lo, hi, 0));
      return;
    }
    this.inParts(op, this.parts(hi - lo, align, n).map((x) => x + lo), args);
  }
  /** a pooling call's sizes and range (checkConv's rules with OC = C): returns the output's element count */
  private checkPool(op: string, B: number, H: number, W: number, C: number, K: number, S: number, same: boolean, b0: number, b1: number): number {
    checkConv(op, B, H, W, C, C, K, K, S, same, b0, b1, B, []);
    const { OH, OW } = conv2dShape(H, W, K, K, S, same);
    return B * OH * OW * C;
  }
  batchnorm_forward(out: Tensor<'f32'>, mean: Tensor<'f32'>, invstd: Tensor<'f32'>, runMean: Tensor<'f32'>, runVar: Tensor<'f32'>, inp: Tensor<'f32'>, gamma: Tensor<'f32'>, beta: Tensor<'f32'>, N: number, C: number, eps: number, momentum: number, training: boolean, c0 = 0, c1 = C): void {
    checkConv('batchnorm_forward', 1, N, 1, C, C, 1, 1, 1, false, c0, c1, C, [[out, N * C], [inp, N * C], [mean, C], [invstd, C], [runMean, C], [runVar, C], [gamma, C], [beta, C]]);
    this.ranged('batchnorm_forward', c0, c1, N * C, SPLIT_MIN_CHEAP, (lo, hi) => [out.byteOffset, mean.byteOffset, invstd.byteOffset, runMean.byteOffset, runVar.byteOffset, inp.byteOffset, gamma.byteOffset, beta.byteOffset, N, C, eps, momentum, training ? 1 : 0, lo, hi]);
  }
  batchnorm_backward(dinp: Tensor<'f32'>, dgamma: Tensor<'f32'>, dbeta: Tensor<'f32'>, dout: Tensor<'f32'>, inp: Tensor<'f32'>, gamma: Tensor<'f32'>, mean: Tensor<'f32'>, invstd: Tensor<'f32'>, N: number, C: number, c0 = 0, c1 = C): void {
    checkConv('batchnorm_backward', 1, N, 1, C, C, 1, 1, 1, false, c0, c1, C, [[dinp, N * C], [dout, N * C], [inp, N * C], [dgamma, C], [dbeta, C], [gamma, C], [mean, C], [invstd, C]]);
    this.ranged('batchnorm_backward', c0, c1, N * C, SPLIT_MIN_CHEAP, (lo, hi) => [dinp.byteOffset, dgamma.byteOffset, dbeta.byteOffset, dout.byteOffset, inp.byteOffset, gamma.byteOffset, mean.byteOffset, invstd.byteOffset, N, C, lo, hi]);
  }
  sparse_matmul_forward(out: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, weight: Tensor<'f32'>, bias: Tensor<'f32'> | null, B: number, C: number, OC: number, scale: number): void {
    if (!this.team || B < 2) {
      this.k.sparse_matmul_forward(out.byteOffset, nzStart.byteOffset, nzIdx.byteOffset, idx.byteOffset, weight.byteOffset, off(bias), B, C, OC, scale);
      return;
    }
    // the rows of the batch
    checkSpans('sparse_matmul_forward', [out, B * OC], [idx, B]);
    this.inParts('sparse_matmul_forward', this.parts(B), (lo, hi) => [out.byteOffset + lo * OC * 4, nzStart.byteOffset, nzIdx.byteOffset, idx.byteOffset + lo * 4, weight.byteOffset, off(bias), hi - lo, C, OC, scale]);
  }
  sparse_matmul_backward(dweight: Tensor<'f32'> | null, dbias: Tensor<'f32'> | null, dout: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, B: number, C: number, OC: number, scale: number): void {
    if (!this.team || !dweight || C < 2) {
      this.k.sparse_matmul_backward(off(dweight), off(dbias), dout.byteOffset, nzStart.byteOffset, nzIdx.byteOffset, idx.byteOffset, B, C, OC, scale);
      return;
    }
    // input rows of dweight, as in sparse_update; this thread also sums dbias
    checkSpans('sparse_matmul_backward', [dweight, C * OC], [dout, B * OC], [idx, B], ...(dbias ? [[dbias, OC] as [Tensor, number]] : []));
    this.inParts('sparse_matmul_backward_rows', this.parts(C), (lo, hi, t) => [dweight.byteOffset, t ? 0 : off(dbias), dout.byteOffset, nzStart.byteOffset, nzIdx.byteOffset, idx.byteOffset, B, C, OC, scale, lo, hi]);
  }
  sparse_update(weight: Tensor<'f32'>, vel: Tensor<'f32'> | null, dweight: Tensor<'f32'>, dout: Tensor<'f32'>, nzStart: Tensor<'i32'>, nzIdx: Tensor<'i32'>, idx: Tensor<'i32'>, B: number, C: number, OC: number, scale: number, lr: number, mu: number, weightDecay: number, nesterov: number): number {
    if (!this.team || C < 2 || C > CSC_MAX_COLUMNS) {
      return this.k.sparse_update(weight.byteOffset, off(vel), dweight.byteOffset, dout.byteOffset, nzStart.byteOffset, nzIdx.byteOffset, idx.byteOffset, B, C, OC, scale, lr, mu, weightDecay, nesterov);
    }
    // input rows of W (and vel); each part checks all of dout and returns its own count, so a bad
    // gradient (positive, the same in every part) is returned once
    checkSpans('sparse_update', [weight, C * OC], [dout, B * OC], [idx, B], [dweight, C * OC], ...(vel ? [[vel, C * OC] as [Tensor, number]] : []));
    const r = this.inParts('sparse_update_rows', this.parts(C), (lo, hi) => [weight.byteOffset, off(vel), dweight.byteOffset, dout.byteOffset, nzStart.byteOffset, nzIdx.byteOffset, idx.byteOffset, B, C, OC, scale, lr, mu, weightDecay, nesterov, lo, hi]);
    // a bad gradient: every part returns the same count; kept weights: negated counts that add up
    return r[0] > 0 ? r[0] : sum(r);
  }
  dropout_forward(out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void {
    this.dropout('dropout_forward', out, inp, N, p, seed, stream);
  }
  augment_rows_u8(out: Tensor<'u8'>, src: Tensor<'u8'>, idx: Tensor<'i32'>, params: Tensor<'f32'>, field: Tensor<'f32'>, B: number, W: number, H: number, seed: number, stream: number, shift: number, rotate: number, scale: number, alpha: number, R: number, random: boolean): void {
    this.k.augment_rows_u8(out.byteOffset, src.byteOffset, idx.byteOffset, params.byteOffset, field.byteOffset, B, W, H, seed | 0, stream | 0, shift, rotate, scale, alpha, R, random ? 1 : 0);
  }
  dropout_backward(dinp: Tensor<'f32'>, dout: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void {
    this.dropout('dropout_backward', dinp, dout, N, p, seed, stream);
  }
  /** either dropout kernel; threads split ranges of units, each passing its first unit's index (i0) to the mask */
  private dropout(op: 'dropout_forward' | 'dropout_backward', out: Tensor<'f32'>, inp: Tensor<'f32'>, N: number, p: number, seed: number, stream: number): void {
    const { threshold, scale } = dropoutParams(p);
    const at = this.elementParts(N, SPLIT_MIN_DROPOUT);
    if (!at) {
      this.k[op](out.byteOffset, inp.byteOffset, N, threshold | 0, scale, seed | 0, stream | 0, 0);
      return;
    }
    checkSpans(op, [out, N], [inp, N]);
    this.inParts(op, at, (lo, hi) => [out.byteOffset + lo * 4, inp.byteOffset + lo * 4, hi - lo, threshold | 0, scale, seed | 0, stream | 0, lo]);
  }
}
