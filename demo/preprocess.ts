/**
 * MNIST-style preprocessing of a hand-drawn digit (LeCun et al.: "the images were size normalized to
 * fit in a 20x20 pixel box while preserving their aspect ratio ... and centered in a 28x28 image by
 * computing the center of mass of the pixels"):
 *
 * 1. the bounding box of the ink (grey level > 0) in the drawing;
 * 2. scaled so its longer side is 20 pixels, aspect ratio kept, by area averaging (each output pixel
 *    is the mean of the source area it covers, so the edges get grey levels, as in MNIST);
 * 3. pasted into a 28x28 field so that its centre of mass lands on the field's centre (14, 14).
 *
 * Pure functions on grey-level arrays (0 = background, 255 = ink), no DOM, so Node can test them.
 */

export interface Box {
  x0: number;
  y0: number;
  /** exclusive */
  x1: number;
  y1: number;
}

/** the smallest box holding every pixel above `threshold`, or null for a blank image */
export function boundingBox(grey: ArrayLike<number>, w: number, h: number, threshold = 0): Box | null {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (grey[y * w + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** area-average the box of `grey` (w wide) into a dw x dh image */
export function resampleArea(grey: ArrayLike<number>, w: number, box: Box, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh);
  const bw = box.x1 - box.x0, bh = box.y1 - box.y0;
  const sx = bw / dw, sy = bh / dh; // source pixels per output pixel (>= 0 and may be < 1 for tiny drawings)
  for (let oy = 0; oy < dh; oy++) {
    const fy0 = box.y0 + oy * sy, fy1 = fy0 + sy;
    for (let ox = 0; ox < dw; ox++) {
      const fx0 = box.x0 + ox * sx, fx1 = fx0 + sx;
      let sum = 0;
      for (let y = Math.floor(fy0); y < Math.ceil(fy1); y++) {
        const cy = Math.min(fy1, y + 1) - Math.max(fy0, y);
        if (cy <= 0) continue;
        for (let x = Math.floor(fx0); x < Math.ceil(fx1); x++) {
          const cx = Math.min(fx1, x + 1) - Math.max(fx0, x);
          if (cx > 0) sum += grey[y * w + x] * cx * cy;
        }
      }
      out[oy * dw + ox] = sum / (sx * sy);
    }
  }
  return out;
}

/**
 * grey levels (w x h, 0..255, ink bright) -> 784 u8 pixels laid out like MNIST, or null when blank.
 * `box` is the size of the normalising box (20) and `size` the field (28).
 */
export function mnistPreprocess(grey: ArrayLike<number>, w: number, h: number, box = 20, size = 28): Uint8Array | null {
  const bb = boundingBox(grey, w, h, 8);
  if (!bb) return null;
  const bw = bb.x1 - bb.x0, bh = bb.y1 - bb.y0;
  const scale = box / Math.max(bw, bh);
  const dw = Math.max(1, Math.round(bw * scale)), dh = Math.max(1, Math.round(bh * scale));
  const small = resampleArea(grey, w, bb, dw, dh);
  // centre of mass, in pixel-centre coordinates of the small image
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const v = small[y * dw + x];
      m += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const ox = Math.round(size / 2 - mx / m), oy = Math.round(size / 2 - my / m);
  const out = new Uint8Array(size * size);
  for (let y = 0; y < dh; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= size) continue;
    for (let x = 0; x < dw; x++) {
      const tx = x + ox;
      if (tx < 0 || tx >= size) continue;
      out[ty * size + tx] = Math.min(255, Math.round(small[y * dw + x]));
    }
  }
  return out;
}
