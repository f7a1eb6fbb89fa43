/**
 * A team of worker threads for the wasm backend (`createBackend({ threads })`): Node's worker_threads,
 * or in browsers Web Workers (the shared memory needs a cross-origin-isolated page).
 *
 * Every worker instantiates the same kernels ('threads' binary: SIMD over a shared memory) over the
 * backend's own WebAssembly.Memory, with its own kernel scratch (set_scratch), and waits on a control
 * block in that memory. The calling thread splits a kernel call into parts whose results do not depend
 * on the split (src/backends/wasm/index.ts): rows of a batch for the forward products and dX,
 * input rows of W for the weight gradients and the first layer's fused update, element ranges for
 * the activations, dropout and the elementwise updates. It posts one part to each worker (the arguments as f64s in the control block, then a
 * sequence number stored with Atomics), runs the first part itself, and waits for the workers'
 * sequence numbers. No message passing and no copies: a round trip costs 0.3-0.4 microseconds here
 * (a post and a spin-wait join on 2 vCPUs), so it pays from batches of a few dozen rows.
 *
 * A worker spins on its control word for a moment after each part (the next one usually comes within
 * the same batch), then sleeps in Atomics.wait until the next post's notify; how long it polls adapts
 * (twice as long after a part that came while it polled, half as long after one that found it
 * asleep), so a worker whose caller is kept off the CPUs by other work soon stops holding one. The
 * calling thread polls for a part only while the worker runs it, and otherwise sleeps in
 * Atomics.wait until the worker's notify: a part the worker has not begun means the worker waits for
 * a CPU. On a browser's main thread, which may not block, the caller only polls. A team of more
 * threads than the machine has CPUs sleeps at once (Team.spinning). (Two processes training with 2
 * threads each at once on 2 vCPUs took 9.6-13.0 s with fixed polling, 2.2-2.8 s with this, 1.5-1.9 s
 * with 1 thread each.) A kernel that throws in a worker reports its message through the control
 * block, and the calling thread throws it.
 */
import { SimdnetError } from '../../core/errors.js';
import { KernelArgs, TEAM_OPS, TeamKernel, type TeamOp } from './kernels.js';

export type { TeamOp };

/** bytes of one worker's control block: 8 i32 words, 24 f64 arguments, 256 bytes of error text */
export const CONTROL_BYTES = 32 + 24 * 8 + 256;

// control words (i32 index)
const POSTED = 0; // sequence number of the last part posted (-1: exit)
const DONE = 1; // sequence number of the last part finished
const OP = 2; // which kernel (its number: TeamKernel in src/core/abi.ts)
const STATUS = 3; // 0 ok, 1 the kernel threw (message in the text area)
const RESULT = 4; // the kernel's i32 result
const READY = 5; // 1 once the worker waits for parts
const TEXT_LEN = 6; // UTF-16 code units of the error text
const STARTED = 7; // sequence number of the last part the worker began

/**
 * how many times a worker polls for its next part before it sleeps in Atomics.wait, and the
 * calling thread for a worker's part, when the team spins (see Team.spinning)
 */
const SPINS = 1 << 16;
/**
 * how many times the calling thread polls for a part that the worker has not begun: a worker that
 * is not running (waking from Atomics.wait, or waiting for a CPU that other threads or processes
 * hold) needs a CPU, which polling would keep from it
 */
const START_POLLS = 1 << 12;
/** the fewest polls a worker's adaptive budget goes down to (see the worker's loop) */
const MIN_SPINS = 1 << 8;

/**
 * The worker's program (run with `eval: true` so it needs no file of its own next to the package,
 * under vitest or in a bundle; valid as CommonJS and as an ES module). workerData: { module, memory,
 * control, scratch, spins } (spins: SPINS, or 0 for a team that does not poll).
 */
const workerSource = (prologue: string) => `(async () => {
${prologue}
const { module, memory, control, scratch, spins: SPINS } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('a kernel assertion failed'); } } });
const k = instance.exports;
k.set_scratch(scratch);
const ctl = new Int32Array(memory.buffer, control, 8);
const args = new Float64Array(memory.buffer, control + 32, 24);
const text = new Uint16Array(memory.buffer, control + 32 + 24 * 8, 128);
const ops = ${JSON.stringify(TEAM_OPS.map((op) => [op, KernelArgs[op]]))}.map(([name, n]) => (a) => k[name](...a.subarray(0, n)));
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0, budget = SPINS;
for (;;) {
  let s, spins = 0, slept = false;
  while ((s = Atomics.load(ctl, ${POSTED})) === seen) {
    if (++spins > budget) { Atomics.wait(ctl, ${POSTED}, seen); spins = 0; slept = true; }
  }
  // a part that came while polling: poll twice as long next time (up to SPINS); one that found the
  // worker asleep: half as long (down to ${MIN_SPINS}), so a worker whose caller does not get a CPU
  // soon (more threads than free CPUs) stops holding one
  if (SPINS) budget = slept ? Math.max(${MIN_SPINS}, budget >> 1) : Math.min(SPINS, budget * 2);
  if (s < 0) break;
  seen = s;
  Atomics.store(ctl, ${STARTED}, s);
  try {
    ctl[${RESULT}] = ops[ctl[${OP}]](args) | 0;
    ctl[${STATUS}] = 0;
  } catch (e) {
    const m = String(e && e.message || e).slice(0, 128);
    for (let i = 0; i < m.length; i++) text[i] = m.charCodeAt(i);
    ctl[${TEXT_LEN}] = m.length;
    ctl[${STATUS}] = 1;
  }
  Atomics.store(ctl, ${DONE}, s);
  Atomics.notify(ctl, ${DONE});
}
})(); // a failure here rejects unhandled: the worker's 'error' event, which start() reports
`;
/** Node: workerData from worker_threads (a dynamic import, not require: the worker inherits the
 * parent's flags, and under --input-type=module or --experimental-default-type=module this source
 * runs as an ES module) */
const NODE_SOURCE = workerSource("const { workerData } = await import('node:worker_threads');");
/** browsers (a Web Worker from a Blob URL): workerData is the first message */
const WEB_SOURCE = workerSource('const workerData = await new Promise((r) => { self.onmessage = (e) => r(e.data); });');

/** a Node worker_threads Worker or a Web Worker, as the team uses it */
interface AnyWorker {
  terminate(): unknown;
}

interface NodeWorker extends AnyWorker {
  unref(): void;
  once(event: 'error', f: (e: Error) => void): unknown;
}

interface Member {
  worker: AnyWorker;
  ctl: Int32Array;
  args: Float64Array;
  text: Uint16Array;
  seq: number;
  failure: Error | null;
}

export class Team {
  private readonly members: Member[];
  private closed = false;
  /**
   * whether this thread may block in Atomics.wait while a part runs: not a browser's main thread,
   * which spins instead (the parts are short)
   */
  private readonly canWait: boolean;
  /**
   * whether the threads poll for a while before they sleep in Atomics.wait: only when the team has
   * no more threads than the machine has CPUs. Oversubscribed, a polling thread holds the CPU that
   * the thread it waits for needs (measured on 2 vCPUs: one epoch of the article's network took
   * 1.4 s with 2 threads, 7.0 s with 3 and 12.7 s with 4), so such a team sleeps at once.
   */
  readonly spinning: boolean;

  private constructor(members: Member[], spinning: boolean) {
    this.members = members;
    this.spinning = spinning;
    let canWait = true;
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // 'not-equal' at once where allowed
    } catch {
      canWait = false;
    }
    this.canWait = canWait;
  }

  /** threads in all: the caller and its workers */
  get size(): number {
    return this.members.length + 1;
  }

  /**
   * Starts `workers` workers over `memory`; control[i] and scratch[i] are byte offsets the host
   * allocated in it (CONTROL_BYTES, and the kernels' scratch_bytes(), 16-byte aligned).
   */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number[], scratch: number[], spin?: boolean): Promise<Team> {
    const spinning = spin ?? control.length + 1 <= (await cpuCount());
    const { spawn, started } = await workerFactory();
    const members: Member[] = control.map((c, i) => {
      const m: Member = {
        worker: { terminate: () => undefined },
        ctl: new Int32Array(memory.buffer, c, 8),
        args: new Float64Array(memory.buffer, c + 32, 24),
        text: new Uint16Array(memory.buffer, c + 32 + 24 * 8, 128),
        seq: 0,
        failure: null,
      };
      m.worker = spawn({ module, memory, control: c, scratch: scratch[i], spins: spinning ? SPINS : 0 }, (e) => (m.failure = e));
      return m;
    });
    const team = new Team(members, spinning);
    // wait (asynchronously: the workers need this thread's event loop to start) until each one listens
    const t0 = Date.now();
    while (members.some((m) => Atomics.load(m.ctl, READY) !== 1)) {
      const failed = members.find((m) => m.failure);
      if (failed || Date.now() - t0 > 30_000) {
        started();
        await team.close();
        throw new SimdnetError(`a worker thread did not start: ${failed ? failed.failure!.message : 'no answer in 30 s'}`);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    started();
    return team;
  }

  /** posts part `i` (0-based over the workers) of a call: the kernel and its arguments */
  post(i: number, op: TeamOp, args: number[]): void {
    if (this.closed) throw new SimdnetError('this backend was closed: create a new one');
    if (args.length !== KernelArgs[op]) throw new Error(`${op} takes ${KernelArgs[op]} arguments, got ${args.length}`);
    const m = this.members[i];
    m.args.set(args);
    m.ctl[OP] = TeamKernel[op];
    m.seq = (m.seq % 0x7fffffff) + 1;
    Atomics.store(m.ctl, POSTED, m.seq);
    Atomics.notify(m.ctl, POSTED);
  }

  /**
   * Runs `own` (this thread's part) while workers 0..parts-1 run the parts just posted, then waits
   * for all of them, even when `own` throws (no worker may still write memory after this returns).
   * Returns [own's result, each worker's]; throws own's error first, else the first worker's.
   */
  alongside(parts: number, own: () => number | void): number[] {
    let first: unknown = null;
    const results: number[] = [0];
    try {
      results[0] = own() ?? 0;
    } catch (e) {
      first = e;
    }
    for (let i = 0; i < parts; i++) {
      try {
        results.push(this.join(i));
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first;
    return results;
  }

  /** waits for worker i's part; returns its kernel's result, or throws the kernel's error */
  private join(i: number): number {
    const m = this.members[i];
    let spins = 0;
    for (let d = Atomics.load(m.ctl, DONE); d !== m.seq; d = Atomics.load(m.ctl, DONE)) {
      const polls = !this.spinning ? 0 : Atomics.load(m.ctl, STARTED) === m.seq ? SPINS : START_POLLS;
      if (++spins > polls && this.canWait) {
        Atomics.wait(m.ctl, DONE, d, 100); // returns at once if DONE is no longer d
        spins = 0;
      }
    }
    if (m.ctl[STATUS] !== 0) {
      const msg = String.fromCharCode(...m.text.subarray(0, m.ctl[TEXT_LEN]));
      throw new SimdnetError(`a kernel failed in a worker thread: ${msg}`);
    }
    return m.ctl[RESULT];
  }

  /** stops the workers (idempotent) */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.members) {
      Atomics.store(m.ctl, POSTED, -1);
      Atomics.notify(m.ctl, POSTED);
    }
    await Promise.all(this.members.map((m) => m.worker.terminate()));
  }
}

type WorkerData = { module: WebAssembly.Module; memory: WebAssembly.Memory; control: number; scratch: number; spins: number };

/** the CPUs this process may run on (Node's os.availableParallelism, a browser's navigator.hardwareConcurrency); Infinity when unknown */
async function cpuCount(): Promise<number> {
  try {
    const os = (await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:os')) as unknown as { availableParallelism?: () => number; cpus: () => unknown[] };
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
    return typeof n === 'number' && n > 0 ? n : Infinity;
  }
}
/** spawn starts one worker; started() says every worker has started (or failed to) */
type Factory = { spawn: (data: WorkerData, onError: (e: Error) => void) => AnyWorker; started: () => void };

/**
 * How this engine starts a worker: Node's worker_threads (an eval'd source), else a Web Worker from
 * a Blob URL (browsers; the shared memory needs a cross-origin-isolated page, which createBackend
 * checks through SharedArrayBuffer), else a one-line error.
 */
async function workerFactory(): Promise<Factory> {
  try {
    const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads')) as unknown as { Worker: new (src: string, opts: object) => NodeWorker };
    const spawn = (workerData: WorkerData, onError: (e: Error) => void) => {
      const worker = new Worker(NODE_SOURCE, { eval: true, workerData });
      worker.unref(); // an idle team never keeps the process alive
      worker.once('error', onError);
      return worker;
    };
    return { spawn, started: () => undefined };
  } catch {
    // not Node: a Web Worker, where there are any
  }
  const Web = (globalThis as { Worker?: new (url: string) => WebWorker }).Worker;
  if (typeof Web !== 'function' || typeof Blob !== 'function' || typeof URL?.createObjectURL !== 'function') {
    throw new SimdnetError('threads need Node.js worker_threads or Web Workers, which this engine does not have: use threads: 1');
  }
  const url = URL.createObjectURL(new Blob([WEB_SOURCE], { type: 'text/javascript' }));
  const spawn = (workerData: WorkerData, onError: (e: Error) => void) => {
    const worker = new Web(url);
    worker.addEventListener('error', (e) => onError(new Error((e as { message?: string }).message || 'the worker script failed')));
    worker.postMessage(workerData);
    return worker;
  };
  return { spawn, started: () => URL.revokeObjectURL(url) };
}

interface WebWorker extends AnyWorker {
  postMessage(data: unknown): void;
  addEventListener(type: 'error', f: (e: unknown) => void): void;
}
