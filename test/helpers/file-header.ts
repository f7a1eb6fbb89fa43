/** Tamper with simdnet model and checkpoint files (src/format/format.ts) so that the checks after the CRC are reached. */
import { crc32 } from '../../src/format/format.js';

/** rewrite the checksum after tampering */
export function resign(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 20) new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

/** re-encode a file with its JSON header edited: the data section moved to its new start, re-signed */
export function withHeader(bytes: Uint8Array, edit: (h: any) => void): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const hlen = dv.getUint32(12, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hlen)));
  edit(h);
  const data = bytes.subarray(Math.ceil((16 + hlen) / 4) * 4, bytes.length - 4);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const start = Math.ceil((16 + json.length) / 4) * 4;
  const out = new Uint8Array(start + data.length + 4);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(data, start);
  return resign(out);
}
