/** Tiny IDX fixtures written to a temp dir at test time (no binary fixtures in the repo). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, type IdxDType } from '../../src/format/idx.js';

export { encodeIdx };

export interface TempDir {
  dir: string;
  /** write bytes to `name` (gzip them first if `gzip`), return the path */
  write(name: string, bytes: Uint8Array, opts?: { gzip?: boolean }): string;
  /** a subfolder, created */
  sub(name: string): string;
  remove(): void;
}

export function tempDir(prefix = 'simdnet-idx-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, bytes, opts = {}) {
      const path = join(dir, name);
      writeFileSync(path, opts.gzip ? gzipSync(bytes) : bytes);
      return path;
    },
    sub(name) {
      const path = join(dir, name);
      mkdirSync(path, { recursive: true });
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** a raw IDX header only: magic, type byte, dims (no data) */
export function idxHeader(typeByte: number, dims: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length);
  out[2] = typeByte;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** deterministic pseudo-random values (LCG) so fixtures are reproducible */
export function seeded(n: number, seed: number, mod: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s % mod);
  }
  return out;
}

export interface SplitSpec {
  count: number;
  shape: number[];
  classes: number;
  seed: number;
  /** override labels */
  labels?: number[];
  imagesDType?: IdxDType;
}

/** write the four MNIST-named files for a tiny dataset into `dir` */
export function writeMnistLike(
  t: TempDir,
  folder: string,
  train: SplitSpec,
  test: SplitSpec,
  opts: { gzip?: boolean } = {},
): string {
  const dir = t.sub(folder);
  const ext = opts.gzip ? '.gz' : '';
  const one = (prefix: string, s: SplitSpec): void => {
    const features = s.shape.reduce((p, d) => p * d, 1);
    const images = encodeIdx(s.imagesDType ?? 'u8', [s.count, ...s.shape], seeded(s.count * features, s.seed, 256));
    const labels = encodeIdx('u8', [s.count], s.labels ?? seeded(s.count, s.seed + 1, s.classes));
    t.write(`${folder}/${prefix}-images-idx3-ubyte${ext}`, images, opts);
    t.write(`${folder}/${prefix}-labels-idx1-ubyte${ext}`, labels, opts);
  };
  one('train', train);
  one('t10k', test);
  return dir;
}
