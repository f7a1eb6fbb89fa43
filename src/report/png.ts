/** A minimal PNG encoder (8-bit grayscale, no interlace) for the HTML report's digit thumbnails. */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../format/format.js';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** encode `pixels` (height x width, row-major, 0 = black) as a grayscale PNG */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || pixels.length < width * height) {
    throw new RangeError(`encodeGrayPng: ${pixels.length} pixels cannot fill ${width}x${height}`);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: grayscale
  // compression, filter, interlace: 0
  const raw = new Uint8Array(height * (width + 1)); // each row: filter byte 0 (none), then the pixels
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, y * width + width), y * (width + 1) + 1);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function pngDataUrl(png: Uint8Array): string {
  return 'data:image/png;base64,' + Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64');
}
