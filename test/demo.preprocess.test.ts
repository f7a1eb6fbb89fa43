// The browser demo's MNIST-style preprocessing of a drawn digit (demo/preprocess.ts).
import { describe, expect, it } from 'vitest';
import { boundingBox, mnistPreprocess, resampleArea } from '../demo/preprocess.js';
import { loadMnist } from '../src/node.js';

function centreOfMass(img: ArrayLike<number>, size = 28): [number, number] {
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const v = img[y * size + x];
    m += v;
    mx += v * (x + 0.5);
    my += v * (y + 0.5);
  }
  return [mx / m, my / m];
}

describe('demo preprocessing', () => {
  it('finds the bounding box and area-averages it', () => {
    const w = 10, g = new Uint8Array(100);
    for (let y = 2; y < 6; y++) for (let x = 3; x < 5; x++) g[y * w + x] = 200;
    expect(boundingBox(g, 10, 10)).toEqual({ x0: 3, y0: 2, x1: 5, y1: 6 });
    expect(boundingBox(new Uint8Array(100), 10, 10)).toBeNull();
    // a 2x4 box of 200s averaged to 1x2: every output is 200; to 4x8 (upsampling): still 200
    expect([...resampleArea(g, w, { x0: 3, y0: 2, x1: 5, y1: 6 }, 1, 2)]).toEqual([200, 200]);
    expect([...resampleArea(g, w, { x0: 3, y0: 2, x1: 5, y1: 6 }, 4, 8)].every((v) => Math.abs(v - 200) < 1e-3)).toBe(true);
    // half-covered output pixels get grey levels
    expect([...resampleArea(g, w, { x0: 2, y0: 2, x1: 5, y1: 6 }, 2, 1)].map((v) => Math.round(v))).toEqual([67, 200]);
  });

  it('scales the ink to a 20-pixel box and centres its mass in 28x28', () => {
    expect(mnistPreprocess(new Uint8Array(280 * 280), 280, 280)).toBeNull();
    // a 40x150 bar in the top-left corner of a 280x280 pad
    const g = new Uint8Array(280 * 280);
    for (let y = 10; y < 160; y++) for (let x = 5; x < 45; x++) g[y * 280 + x] = 255;
    const out = mnistPreprocess(g, 280, 280)!;
    const bb = boundingBox(out, 28, 28)!;
    expect(bb.y1 - bb.y0).toBe(20);
    expect(bb.x1 - bb.x0).toBeGreaterThanOrEqual(5);
    expect(bb.x1 - bb.x0).toBeLessThanOrEqual(6);
    const [cx, cy] = centreOfMass(out);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5);
  });

  it('turns a real MNIST digit drawn 10x larger anywhere on the pad back into (nearly) itself', () => {
    const { test } = loadMnist();
    for (const i of [0, 1, 2, 3, 4, 7, 11, 18]) {
      const digit = test.images.subarray(i * 784, (i + 1) * 784);
      // upscale 10x into a 300x300 pad, shifted off-centre
      const W = 300, g = new Uint8Array(W * W);
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const v = digit[y * 28 + x];
        if (v) for (let yy = 0; yy < 10; yy++) for (let xx = 0; xx < 10; xx++) g[(y * 10 + yy + 7) * W + x * 10 + xx + 13] = v;
      }
      const out = mnistPreprocess(g, W, W)!;
      // correlation between the original and the re-preprocessed digit, allowing a one-pixel shift:
      // MNIST's own centring rounded differently (test image 0 sits one pixel lower than its mass)
      let r = -1;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
          const a = digit[y * 28 + x];
          const yy = y + dy, xx = x + dx;
          const b = yy >= 0 && yy < 28 && xx >= 0 && xx < 28 ? out[yy * 28 + xx] : 0;
          sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b;
        }
        const n = 784;
        r = Math.max(r, (n * sab - sa * sb) / Math.sqrt((n * saa - sa * sa) * (n * sbb - sb * sb)));
      }
      expect(r, `test image ${i}`).toBeGreaterThan(0.9);
    }
  });
});
