/**
 * IDX parsing (the MNIST file format): pure, no Node imports, so it runs in browsers too.
 *
 * Layout: two zero bytes, a type byte, a dimension-count byte, one big-endian u32 per dimension,
 * then the values row-major, multi-byte types big-endian.
 *   magic   00 00 tt nn
 *   dims    nn x u32 (big-endian)
 *   data    prod(dims) x sizeof(tt)
 *
 * Everything is checked against the byte length before anything is allocated, so a corrupt or
 * hostile header costs nothing. Errors are DataError(file, problem): one line, names the file.
 */
import { DataError } from '../core/errors.js';

export type IdxDType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  /** sizes, outermost first; the values are row-major */
  dims: number[];
  /** host-endian values; for u8 possibly a zero-copy view into the input bytes */
  data: IdxData;
}

export interface IdxHeader {
  dtype: IdxDType;
  dims: number[];
  /** 4 + 4 * dims.length */
  headerBytes: number;
  /** product(dims) * bytes per value */
  dataBytes: number;
}

/** type byte <-> dtype, bytes per value */
const DTYPES: ReadonlyArray<{ code: number; dtype: IdxDType; size: number }> = [
  { code: 0x08, dtype: 'u8', size: 1 },
  { code: 0x09, dtype: 'i8', size: 1 },
  { code: 0x0b, dtype: 'i16', size: 2 },
  { code: 0x0c, dtype: 'i32', size: 4 },
  { code: 0x0d, dtype: 'f32', size: 4 },
  { code: 0x0e, dtype: 'f64', size: 8 },
];

/** the IDX type byte for a dtype (for writers and test fixtures) */
export function idxTypeCode(dtype: IdxDType): number {
  return dtypeInfo(dtype).code;
}

/** bytes per value of a dtype */
export function idxDTypeSize(dtype: IdxDType): number {
  return dtypeInfo(dtype).size;
}

function dtypeInfo(dtype: IdxDType): { code: number; dtype: IdxDType; size: number } {
  const info = DTYPES.find((d) => d.dtype === dtype);
  if (!info) throw new TypeError(`unknown IDX dtype ${String(dtype)}`);
  return info;
}

/**
 * Largest IDX file (header + data) accepted: 2 GiB - 1. Larger than any IDX dataset in common use
 * (EMNIST's biggest file is ~550 MB), and what Node's readFileSync and every browser can hold in
 * one buffer. A header claiming more is corrupt, so it is rejected before anything is allocated.
 */
export const IDX_MAX_BYTES = 2 ** 31 - 1;

/** gzip streams start with the magic bytes 1f 8b */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === units.length - 1 && v >= 1024 ? `${n.toPrecision(3)} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Read and validate an IDX header. By default the whole file must be in `bytes`, and its length must
 * match the header exactly (no truncation, no trailing bytes). With `{ partial: true }`, `bytes` may
 * be just a prefix of the file (e.g. the first decompressed bytes of a .gz): only the header itself
 * is checked, which is what a caller needs to bound a decompression.
 */
export function parseIdxHeader(bytes: Uint8Array, file: string, options: { partial?: boolean } = {}): IdxHeader {
  const n = bytes.length;
  if (n === 0) throw new DataError(file, 'file is empty; expected an IDX file (fetch it again)');
  if (isGzip(bytes)) {
    throw new DataError(file, 'is gzip-compressed; decompress first (in Node, readIdxFile does this)');
  }
  if (bytes[0] !== 0 || (n > 1 && bytes[1] !== 0)) {
    const magic = Array.from(bytes.subarray(0, 4), hex).join('');
    throw new DataError(
      file,
      `not an IDX file (bad magic 0x${magic}; IDX files start with 0x0000, a type byte and a dimension count); check the path points at an MNIST-style idx file`,
    );
  }
  if (n < 4) throw new DataError(file, `truncated header: file has ${n} bytes, an IDX header needs at least 4`);

  const code = bytes[2];
  const info = DTYPES.find((d) => d.code === code);
  if (!info) {
    throw new DataError(
      file,
      `unknown IDX data type 0x${hex(code)} (expected 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32 or 0x0e f64); the file is corrupt or not an IDX file`,
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new DataError(file, 'header declares 0 dimensions; an IDX file needs at least 1');
  const headerBytes = 4 + 4 * ndims;
  if (n < headerBytes) {
    throw new DataError(
      file,
      `truncated header: ${ndims} dimensions need a ${headerBytes}-byte header, file has ${n} bytes; fetch the file again`,
    );
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));

  // product of the sizes, stopping as soon as it passes the limit (so it never loses precision)
  let dataBytes = info.size;
  if (dims.includes(0)) dataBytes = 0;
  else {
    for (const d of dims) {
      dataBytes *= d;
      if (headerBytes + dataBytes > IDX_MAX_BYTES) {
        const claimed = dims.reduce((p, x) => p * x, info.size);
        const size = claimed > Number.MAX_SAFE_INTEGER ? `~${claimed.toPrecision(3)} bytes` : formatBytes(claimed);
        throw new DataError(
          file,
          `header claims ${dims.join(' x ')} ${info.dtype} values (${size}), more than the ${formatBytes(IDX_MAX_BYTES + 1)} limit; the header is corrupt or this is not an IDX file`,
        );
      }
    }
  }

  if (!options.partial) {
    const have = n - headerBytes;
    if (have < dataBytes) {
      throw new DataError(
        file,
        `truncated: header says ${dataBytes} bytes of data (${dims.join(' x ')} ${info.dtype}), file has ${have} after its ${headerBytes}-byte header; fetch the file again`,
      );
    }
    if (have > dataBytes) {
      throw new DataError(
        file,
        `${have - dataBytes} extra bytes after the data (header says ${dims.join(' x ')} ${info.dtype} = ${dataBytes} bytes); the file is corrupt or not a plain IDX file`,
      );
    }
  }
  return { dtype: info.dtype, dims, headerBytes, dataBytes };
}

/**
 * Parse a whole raw IDX file. Multi-byte values are converted from big-endian to host typed arrays;
 * u8 and i8 data are zero-copy views into `bytes` (copy them if `bytes` will be reused).
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const { dtype, dims, headerBytes, dataBytes } = parseIdxHeader(bytes, file);
  const size = idxDTypeSize(dtype);
  const count = dataBytes / size;
  const offset = bytes.byteOffset + headerBytes;
  if (dtype === 'u8') return { dtype, dims, data: bytes.subarray(headerBytes, headerBytes + dataBytes) };
  if (dtype === 'i8') return { dtype, dims, data: new Int8Array(bytes.buffer, offset, count) };

  const view = new DataView(bytes.buffer, offset, dataBytes);
  switch (dtype) {
    case 'i16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
      return { dtype, dims, data: out };
    }
    case 'i32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
      return { dtype, dims, data: out };
    }
    case 'f32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
      return { dtype, dims, data: out };
    }
    case 'f64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
      return { dtype, dims, data: out };
    }
  }
}

/**
 * Encode values as a raw IDX file (big-endian), the inverse of parseIdx. Used by tests and by
 * anyone writing their own datasets; `data.length` must equal the product of `dims`.
 */
export function encodeIdx(dtype: IdxDType, dims: number[], data: ArrayLike<number>): Uint8Array {
  const { code, size } = dtypeInfo(dtype);
  if (dims.length < 1 || dims.length > 255) throw new RangeError(`IDX needs 1..255 dimensions, got ${dims.length}`);
  const count = dims.reduce((p, d) => p * d, 1);
  if (count !== data.length) throw new RangeError(`dims ${dims.join(' x ')} hold ${count} values, got ${data.length}`);
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const at = headerBytes + i * size;
    const v = data[i];
    switch (dtype) {
      case 'u8': view.setUint8(at, v); break;
      case 'i8': view.setInt8(at, v); break;
      case 'i16': view.setInt16(at, v, false); break;
      case 'i32': view.setInt32(at, v, false); break;
      case 'f32': view.setFloat32(at, v, false); break;
      case 'f64': view.setFloat64(at, v, false); break;
    }
  }
  return out;
}
