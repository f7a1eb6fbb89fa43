/** Small learnable datasets (class prototypes + noise) for fast training tests, in memory or as IDX folders. */
import { Rng } from '../../src/core/rng.js';
import type { DataSet } from '../../src/nn/model.js';
import { encodeIdx, type TempDir } from './idx-fixtures.js';

export function synthetic(count: number, features: number, classes: number, seed: number, noise = 60): DataSet {
  const protoRng = new Rng(1234 + classes * 7 + features); // prototypes shared by train and test splits
  const protos = Array.from({ length: classes }, () => Array.from({ length: features }, () => (protoRng.float() < 0.3 ? 200 : 10)));
  const rng = new Rng(seed);
  const images = new Uint8Array(count * features);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = rng.int(classes);
    labels[i] = c;
    for (let j = 0; j < features; j++) {
      images[i * features + j] = Math.max(0, Math.min(255, Math.round(protos[c][j] + (rng.float() * 2 - 1) * noise)));
    }
  }
  return { images, labels, count, features };
}

/** write a synthetic train/test pair under the four MNIST file names; returns the folder */
export function writeSyntheticDir(t: TempDir, folder: string, opts: { train?: number; test?: number; shape?: number[]; classes?: number; gzip?: boolean; sparse?: boolean } = {}): string {
  const shape = opts.shape ?? [6, 5];
  const features = shape.reduce((a, b) => a * b, 1);
  const classes = opts.classes ?? 4;
  const dir = t.sub(folder);
  const ext = opts.gzip ? '.gz' : '';
  const write = (prefix: string, d: DataSet) => {
    t.write(`${folder}/${prefix}-images-idx3-ubyte${ext}`, encodeIdx('u8', [d.count, ...shape], d.images), { gzip: opts.gzip });
    t.write(`${folder}/${prefix}-labels-idx1-ubyte${ext}`, encodeIdx('u8', [d.count], d.labels), { gzip: opts.gzip });
  };
  // sparse: the dim pixels zeroed (about 30% non-zero, as MNIST's 19%), so training takes the sparse kernels
  const sparsify = (d: DataSet) => {
    if (opts.sparse) for (let i = 0; i < d.images.length; i++) if (d.images[i] < 100) d.images[i] = 0;
    return d;
  };
  write('train', sparsify(synthetic(opts.train ?? 600, features, classes, 1)));
  write('t10k', sparsify(synthetic(opts.test ?? 200, features, classes, 2)));
  return dir;
}
