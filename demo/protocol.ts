/** Messages between the page (main.ts) and the training worker (worker.ts). */
import type { ActivationName, BackendPreference, EpochLogs, OptimizerName } from '../src/index.js';
import type { NetworkKind } from './networks.js';

export interface Hyper {
  backend: BackendPreference;
  /** threads of the training backend (wasm SIMD; more than 1 needs a cross-origin-isolated page) */
  threads: number;
  /** the MLP of `hidden` and `activation`, or the CNN of networks.ts */
  network: NetworkKind;
  hidden: number[];
  activation: ActivationName;
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  batchSize: number;
  epochs: number;
  seed: number;
}

export type ToWorker =
  | { type: 'init'; base: string; hyper: Hyper }
  | { type: 'start'; hyper: Hyper }
  | { type: 'pause' }
  | { type: 'reset'; hyper: Hyper }
  | { type: 'predict'; id: number; pixels: Uint8Array }
  | { type: 'download' };

export type FromWorker =
  | { type: 'status'; text: string }
  | { type: 'data'; train: number; test: number; ms: number }
  | { type: 'model'; backend: string; simd: boolean; kind: NetworkKind; network: string; params: number }
  | { type: 'batch'; epoch: number; batch: number; batches: number; loss: number; accuracy: number }
  | { type: 'epoch'; logs: EpochLogs; confusion: number[][] }
  | { type: 'state'; state: 'idle' | 'training' | 'paused' | 'done' }
  | { type: 'prediction'; id: number; probs: Float32Array }
  | { type: 'file'; bytes: Uint8Array; name: string }
  | { type: 'error'; message: string };
