import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsBackend } from '../src/backends/ts/index.js';
import { decodeModel, encodeModel } from '../src/format/format.js';
import { loadModel, saveModel } from '../src/io/io.js';
import { Model } from '../src/train/model.js';
import { avgPool2d, batchNorm, conv2d, dense, flatten, maxPool2d } from '../src/nn/layers.js';
import { BACKENDS } from './helpers/backends.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { resign, withHeader } from './helpers/file-header.js';
import { synthetic } from './helpers/synthetic.js';

const tmp = tempDir('simdnet-format-');
afterAll(() => tmp.remove());

async function trained(backend = new TsBackend()) {
  const data = synthetic(120, 12, 4, 3);
  const m = new Model({ layers: [12, 9, 5, 4], activation: ['relu', 'tanh'], loss: 'ce', seed: 4, imageShape: [3, 4] }, backend);
  await m.fit(data, { epochs: 2, batchSize: 10, optimizer: 'adam', learningRate: 0.01 });
  return { m, data };
}

describe('model files', () => {
  for (const b of BACKENDS.slice(0, 3)) {
    it(`${b.name}: save -> load gives identical predictions`, async () => {
      const { m, data } = await trained(await b.create());
      const file = join(tmp.dir, `m-${b.name}.simdnet`);
      saveModel(m, file, { note: 'test' });
      const { model, meta } = await loadModel(file, { backend: await b.create() });
      expect(meta.note).toBe('test');
      expect(model.config.layers).toEqual([12, 9, 5, 4]);
      expect(model.config.activations).toEqual(['relu', 'tanh', 'linear']);
      expect(model.config.imageShape).toEqual([3, 4]);
      const p1 = m.predict(data.images), p2 = model.predict(data.images);
      expect(Buffer.from(p1.buffer).equals(Buffer.from(p2.buffer))).toBe(true);
    });
  }

  it('is readable with the two Python blocks docs/file-format.md gives (when numpy is installed)', async () => {
    const { m } = await trained();
    const file = join(tmp.dir, 'py.simdnet');
    saveModel(m, file);
    const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
    if (!hasNumpy) return void console.log('numpy not importable: Python check skipped');
    const doc = readFileSync(new URL('../docs/file-format.md', import.meta.url), 'utf8');
    // the container block, then the model's layers
    const blocks = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
    const snippet = blocks[0] + blocks[1];
    const script = `${snippet}\nimport sys\nout = np.concatenate([np.asarray(l[k], dtype='<f4').ravel() for l in layers if l['type'] == 'dense' for k in ('W', 'b')])\n`
      + `px = np.frombuffer(bytes.fromhex(sys.argv[2]), np.uint8).reshape(-1, *h['model']['input'])\n`
      + `sys.stdout.buffer.write(json.dumps([h['model'], predict(px).astype('<f4').tolist()]).encode() + b'\\n' + out.tobytes())`;
    const { data } = await trained();
    const px = data.images.subarray(0, 5 * 12);
    const raw = execFileSync('python3', ['-c', script, file, Buffer.from(px).toString('hex')]);
    const nl = raw.indexOf(10);
    const [model, probs] = JSON.parse(raw.subarray(0, nl).toString());
    expect(model).toEqual({ input: [3, 4], loss: 'ce', layers: [{ type: 'dense', units: 9, activation: 'relu' }, { type: 'dense', units: 5, activation: 'tanh' }, { type: 'dense', units: 4, activation: 'linear' }] });
    const py = new Float32Array(raw.buffer.slice(raw.byteOffset + nl + 1, raw.byteOffset + raw.length));
    const ours = m.getWeights().flatMap((w) => [...w.W, ...w.b]);
    expect(Array.from(py)).toEqual(ours);
    // the documented forward pass gives the library's probabilities
    const p = m.predict(px);
    (probs as number[][]).flat().forEach((v, i) => expect(Math.abs(v - p[i])).toBeLessThan(1e-5));
  });

  it('a CNN file (conv same/valid, stride, pools, batch norm, flatten, dense) is readable with the same Python blocks, and loads through loadModel bit for bit', async () => {
    const m = new Model({ inputShape: [9, 8, 2], seed: 3, layers: [conv2d(4, 3, { padding: 'same', activation: 'relu' }), batchNorm(), conv2d(5, [2, 3], { stride: 2, activation: 'tanh' }), maxPool2d(2, { stride: 1, padding: 'same' }), avgPool2d(2, { padding: 'same' }), flatten(), dense(6, 'sigmoid'), batchNorm(), dense(3)] }, new TsBackend());
    const N = 40, images = new Uint8Array(N * 144).map((_, i) => ((i * 37) % 10 < 5 ? 0 : (i * 91) % 256)), labels = new Uint8Array(N).map((_, i) => i % 3);
    await m.fit({ images, labels, count: N, features: 144 }, { epochs: 3, batchSize: 8, optimizer: 'adam', learningRate: 0.01 });
    const file = join(tmp.dir, 'cnn.simdnet');
    saveModel(m, file);
    const { model } = await loadModel(file, { backend: new TsBackend() });
    expect(Buffer.from(model.predict(images).buffer).equals(Buffer.from(m.predict(images).buffer))).toBe(true);
    const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
    if (!hasNumpy) return void console.log('numpy not importable: Python check skipped');
    const doc = readFileSync(new URL('../docs/file-format.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((x) => x[1]);
    const script = `${blocks[0]}${blocks[1]}\nimport sys\npx = np.frombuffer(bytes.fromhex(sys.argv[2]), np.uint8).reshape(-1, *h['model']['input'])\nprint(json.dumps(predict(px).astype('<f4').tolist()))`;
    const px = images.subarray(0, 5 * 144);
    const py = (JSON.parse(execFileSync('python3', ['-c', script, file, Buffer.from(px).toString('hex')]).toString()) as number[][]).flat();
    const ours = m.predict(px);
    expect(py.length).toBe(ours.length);
    py.forEach((v, i) => expect(Math.abs(v - ours[i]), `probability ${i}`).toBeLessThan(1e-5));
  });

  it('rejects damaged files with one line naming the file', async () => {
    const { m } = await trained();
    const V1 = new Uint8Array(readFileSync(new URL('./fixtures/v1-model.simdnet', import.meta.url)));
    const good = encodeModel(m.config, m.getWeights());
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /too short/],
      ['truncated', good.subarray(0, good.length - 9), /checksum mismatch/],
      ['bitflip', (() => { const x = good.slice(); x[x.length - 20] ^= 0x10; return x; })(), /checksum mismatch/],
      ['magic', resign((() => { const x = good.slice(); x[0] = 0x50; return x; })()), /bad magic/],
      ['version', resign((() => { const x = good.slice(); x[8] = 9; return x; })()), /unsupported format version 9 \(this simdnet reads version 2 and 1\)/],
      ['headerlen', resign((() => { const x = good.slice(); new DataView(x.buffer).setUint32(12, 1e9, true); return x; })()), /header length/],
      ['json', resign((() => { const x = good.slice(); x[17] = 0x7b; x[18] = 0x7b; return x; })()), /corrupt header/],
      ['layers', withHeader(good, (h) => { h.model.layers[2].units = 5; }), /weights missing or of the wrong size|does not fit|corrupt header: classes/],
      ['input', withHeader(good, (h) => { h.model.input = [3, 5]; }), /layer 1: weights missing or of the wrong size/],
      ['no model', withHeader(good, (h) => { delete h.model; }), /no model description/],
      ['layer type', withHeader(good, (h) => { h.model.layers[1] = { type: 'conv' }; }), /corrupt header: layer 2: unknown layer type "conv"/],
      // a header that contradicts itself (a valid CRC): issue 23 item 10
      ['classes', withHeader(good, (h) => { h.classes = 7; }), /corrupt header: classes 7 but the output layer has \d+ units/],
      ['v1 imageShape', withHeader(V1, (h) => { h.imageShape = [5, 5]; }), /corrupt header: imageShape \[5,5\] does not describe the first layer's \d+ inputs/],
      ['overlap', withHeader(good, (h) => { h.tensors[1].offset = 0; h.tensors[0].offset = h.tensors[1].shape.reduce((a: number, b: number) => a * b, 1) * 4 - 4; }), /corrupt header: tensors .* overlap|does not fit/],
      ['transposed', withHeader(good, (h) => { h.tensors[0].shape = h.tensors[0].shape.slice().reverse(); }), /corrupt header: layer 1's tensors are \d+x\d+ and \d+ but the layers say/],
      ['stray tensor', withHeader(good, (h) => { h.tensors[1].name = 'layers.9.b'; }), /corrupt header: tensor "layers\.9\.b" belongs to no layer/],
      ['duplicate name', withHeader(good, (h) => { h.tensors[1].name = h.tensors[0].name; }), /corrupt header: two tensors are named "layers\.0\.W"/],
      ['shape', withHeader(good, (h) => { h.tensors[0].shape = [1000000, 1000000]; }), /does not fit/],
      ['activation', withHeader(good, (h) => { h.model.layers[0].activation = 'swish'; }), /corrupt header: layer 1: unknown activation 'swish'/],
      ['nan', resign((() => { const x = good.slice(); const hlen = new DataView(x.buffer).getUint32(12, true); new DataView(x.buffer).setFloat32(Math.ceil((16 + hlen) / 4) * 4, NaN, true); return x; })()), /non-finite/],
    ];
    for (const [name, bytes, re] of cases) {
      const file = join(tmp.dir, `bad-${name}.simdnet`);
      writeFileSync(file, bytes);
      let err: Error | null = null;
      try { decodeModel(readFileSync(file), file); } catch (e) { err = e as Error; }
      expect(err, name).not.toBeNull();
      expect(err!.name, name).toBe('DataError');
      expect(err!.message, name).toMatch(re);
      expect(err!.message.startsWith(file), name).toBe(true);
      expect(err!.message.includes('\n'), name).toBe(false);
    }
    await expect(loadModel(join(tmp.dir, 'missing.simdnet'))).rejects.toThrow(/missing\.simdnet: model file not found/);
  });
});
