/** Node-side checkpoint files: atomic writes (temp file, fsync, rename) and checked reads. */
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../format/checkpoint.js';
import { SimdnetError } from '../core/errors.js';
import { readFileChecked, writeFileAtomic } from './io.js';
import { describeNetwork } from '../nn/layers.js';
import type { Model } from '../train/model.js';

export function saveCheckpoint(path: string, state: TrainState): void {
  writeFileAtomic(path, encodeCheckpoint(state));
}

export function readCheckpoint(path: string): TrainState {
  return decodeCheckpoint(readFileChecked(path, 'checkpoint file'), path);
}

/** refuse a checkpoint whose network differs from the model built for this run, with both shapes */
export function checkModelFits(model: Model, st: TrainState, path: string): void {
  const a = describeNetwork(st.settings.model), b = describeNetwork(model.config.model);
  if (a !== b) throw new SimdnetError(`${path}: checkpoint is for a ${a} network but this run builds ${b}; pass the same --hidden (and data)`);
}
