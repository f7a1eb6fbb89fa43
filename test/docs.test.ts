/**
 * The docs (README.md, CHANGELOG.md, docs/*.md) stay true:
 *
 * - `simdnet --help` and docs/cli.md name the same flags: every flag in the help text is the first
 *   cell of a table row in docs/cli.md, and every flag docs/cli.md mentions is in the help text.
 * - Every fenced code block has a language. A block that is a command or a program (sh, bash, ts,
 *   js, python) runs here, unless its info string marks it as an excerpt: ```` ```sh excerpt ````.
 *   Mark a block `excerpt` when it cannot run in a test in seconds (`npm install`, `npm start`, a
 *   full benchmark, a browser page, a fragment that needs variables it does not define); everything
 *   else runs:
 *   - sh blocks run in bash (-e -o pipefail), one working folder per document, blocks in order, with
 *     `npx simdnet`, `simdnet` and `npm run -s simdnet --` being the built CLI (dist/cli/main.js). In
 *     place of the real MNIST, `train` and `eval` without `--data` read a small synthetic
 *     MNIST-shaped folder (28x28 images, 10 classes; test/helpers/synthetic.ts), so a block takes
 *     seconds, not minutes. `bench/` in the working folder is the repo's (read it, don't write it).
 *   - ts/js blocks are transpiled (typescript's transpileModule) and run with node; `'simdnet'`
 *     is the built package (dist/node.js) with `loadMnist()` reading that synthetic folder, and
 *     `'simdnet/dist/checkpoint-io.js'` is dist/io/checkpoint-io.js. They are also type-checked
 *     against the sources.
 *   - python blocks are docs/file-format.md's container reader, then its model reader or its
 *     checkpoint reader: they run on a model file and a checkpoint the CLI writes, and must give the
 *     same weights (skipped without numpy). test/format.test.ts also compares the model reader's
 *     weights with the library's.
 * - Relative links and images in README.md, CHANGELOG.md and docs/ resolve, and so do their
 *   #anchors (GitHub's heading slugs).
 * - The performance figures in README.md and docs/performance.md are those of the latest run in
 *   bench/results/compare.json (after a new `npm run bench:compare`, update both), and its CNN
 *   peers table that of bench/results/compare-W4-W5.* (`npm run bench:compare -- --workloads W4,W5`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';

const root = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(root, 'dist/cli/main.js');
const DOCS = ['README.md', 'CHANGELOG.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (doc: string) => readFileSync(join(root, doc), 'utf8');

const tmp = tempDir('simdnet-docs-');
afterAll(() => tmp.remove());
const data = writeSyntheticDir(tmp, 'mnist', { train: 600, test: 200, shape: [28, 28], classes: 10, sparse: true });
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

interface Block {
  doc: string;
  line: number;
  lang: string;
  excerpt: boolean;
  code: string;
}

/** fenced code blocks (``` only), with their language and whether they are marked as excerpts */
function blocks(doc: string): Block[] {
  const out: Block[] = [];
  const lines = read(doc).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [lang = '', ...tags] = open[1].trim().split(/\s+/);
    const start = i;
    const code: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) code.push(lines[i]);
    out.push({ doc, line: start + 1, lang, excerpt: tags.includes('excerpt'), code: code.join('\n') + '\n' });
  }
  return out;
}

/** the document without its code blocks and inline code, for links and headings */
function prose(doc: string): string {
  return read(doc).replace(/^```[\s\S]*?^```\s*$/gm, '');
}

const PROGRAMS: Record<string, 'sh' | 'ts' | 'python'> = { sh: 'sh', bash: 'sh', shell: 'sh', ts: 'ts', typescript: 'ts', js: 'ts', javascript: 'ts', mjs: 'ts', python: 'python', py: 'python' };
const OTHER = ['text', 'json', 'html'];
const all = DOCS.flatMap(blocks);
const runnable = (kind: string) => all.filter((b) => PROGRAMS[b.lang] === kind && !b.excerpt);
const where = (b: Block) => `${b.doc}:${b.line}`;

/** a working folder per document, with the repo's bench/ beside it */
function workDir(doc: string): string {
  const dir = join(tmp.dir, 'work', doc.replace(/[/.]/g, '_'));
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(root, 'bench'), join(dir, 'bench'));
  }
  return dir;
}

const SH_PRELUDE = `
simdnet() {
  case "$1" in
    train|eval) case " $* " in *" --data "*|*" --data="*) ;; *) set -- "$@" --data "$SIMDNET_DOCS_DATA" ;; esac ;;
  esac
  node "$SIMDNET_DOCS_CLI" "$@"
}
npx() {
  if [ "$1" = simdnet ]; then shift; simdnet "$@"; else echo "docs test: only npx simdnet runs here; mark the block excerpt" >&2; return 99; fi
}
npm() {
  if [ "$1" = run ] && [ "$2" = -s ] && [ "$3" = simdnet ] && [ "$4" = -- ]; then shift 4; simdnet "$@"
  else echo "docs test: only npm run -s simdnet -- runs here; mark the block excerpt" >&2; return 99; fi
}
`;

const env = { ...process.env, SIMDNET_DOCS_DATA: data, SIMDNET_DOCS_CLI: CLI };

describe('docs/cli.md and simdnet --help', () => {
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const flags = (s: string) => new Set(s.match(/--[a-z][a-z0-9]*(?:-[a-z0-9]+)*/g) ?? []);
  const cli = read('docs/cli.md');
  // the first cell of every table row
  const firstCells = cli.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.split(/(?<!\\)\|/)[1]).join('\n');

  it('every flag in simdnet --help has a row in docs/cli.md', () => {
    expect(help.status).toBe(0);
    const missing = [...flags(help.stdout)].filter((f) => !flags(firstCells).has(f));
    expect(missing, 'flags in simdnet --help without a table row in docs/cli.md').toEqual([]);
  });

  it('every flag docs/cli.md mentions is in simdnet --help', () => {
    const unknown = [...flags(cli)].filter((f) => !flags(help.stdout).has(f));
    expect(unknown, 'flags in docs/cli.md that simdnet --help does not have').toEqual([]);
  });
});

describe('code blocks in README.md and docs/', () => {
  it('have a language, and every command or program is run here or marked as an excerpt', () => {
    for (const b of all) {
      expect(b.lang, `${where(b)}: a code block needs a language (sh, ts, python, text, ...)`).not.toBe('');
      expect(b.lang in PROGRAMS || OTHER.includes(b.lang), `${where(b)}: unknown language '${b.lang}'`).toBe(true);
    }
    // the test must not pass by running nothing
    expect(runnable('sh').length).toBeGreaterThan(3);
    expect(runnable('ts').length).toBeGreaterThan(3);
  });

  it('sh blocks run (the CLI on a small synthetic MNIST-shaped folder)', () => {
    for (const b of runnable('sh')) {
      const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', SH_PRELUDE + b.code], { cwd: workDir(b.doc), env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${where(b)} exited ${r.status}:\n${b.code}\n${r.stderr}`).toBe(0);
      expect(r.stderr, `${where(b)} wrote to stderr`).not.toMatch(/internal error|Error:|at .*\.js:\d+/);
    }
  }, 600_000);

  const wrapper = join(tmp.dir, 'simdnet-docs.mjs');
  writeFileSync(
    wrapper,
    `export * from ${JSON.stringify(pathToFileURL(join(root, 'dist/node.js')).href)};
import { loadMnist as realLoadMnist } from ${JSON.stringify(pathToFileURL(join(root, 'dist/node.js')).href)};
export function loadMnist(dir) { return realLoadMnist(dir ?? process.env.SIMDNET_DOCS_DATA); }
`,
  );
  const imports: Record<string, string> = {
    simdnet: pathToFileURL(wrapper).href,
    'simdnet/dist/checkpoint-io.js': pathToFileURL(join(root, 'dist/io/checkpoint-io.js')).href,
  };

  it('ts/js blocks run (the built package; loadMnist() reads the synthetic folder)', () => {
    for (const [i, b] of runnable('ts').entries()) {
      let js = ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      js = js.replace(/from (['"])([^'"]+)\1/g, (m, _q, spec: string) => {
        expect(spec in imports || spec.startsWith('node:'), `${where(b)} imports '${spec}'`).toBe(true);
        return spec in imports ? `from ${JSON.stringify(imports[spec])}` : m;
      });
      const dir = workDir(b.doc);
      const file = join(dir, `block-${i}.mjs`);
      writeFileSync(file, js);
      const r = spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${where(b)} exited ${r.status}:\n${b.code}\n${r.stderr}`).toBe(0);
      expect(r.stderr, `${where(b)} wrote to stderr`).toBe('');
    }
  }, 600_000);

  it('ts/js blocks type-check against the sources', () => {
    const dir = join(tmp.dir, 'typecheck');
    mkdirSync(dir, { recursive: true });
    const files = runnable('ts').map((b, i) => {
      const file = join(dir, `block-${i}.ts`);
      writeFileSync(file, b.code);
      return { file, b };
    });
    const program = ts.createProgram(files.map((f) => f.file), {
      module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler, strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
      baseUrl: root, paths: { simdnet: ['src/node.ts'], 'simdnet/dist/checkpoint-io.js': ['src/io/checkpoint-io.ts'] }, allowImportingTsExtensions: true,
    });
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.some((f) => f.file === d.file!.fileName))
      .map((d) => {
        const f = files.find((x) => x.file === d.file!.fileName)!;
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${f.b.doc}:${f.b.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  }, 120_000);

  it('python blocks: the model reader and the checkpoint reader give the weights the CLI saved', () => {
    const py = runnable('python');
    expect(py.map((b) => b.doc), "python blocks this test knows how to run: docs/file-format.md's container, model and checkpoint readers").toEqual(['docs/file-format.md', 'docs/file-format.md', 'docs/file-format.md']);
    if (!hasNumpy) return void console.log('numpy not importable: Python blocks skipped');
    const dir = workDir('python');
    const model = join(dir, 'm.simdnet'), ckpt = join(dir, 'run.ckpt');
    const r = spawnSync(process.execPath, [CLI, 'train', '--data', data, '--hidden', '12,8', '--activation', 'relu', '--optimizer', 'momentum', '--epochs', '2', '--save', model, '--checkpoint', ckpt, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const dump = (v: string) => `\nimport hashlib\nprint(hashlib.sha256(b''.join(np.ascontiguousarray(w[k], dtype='<f4').tobytes() for w in ${v} for k in ('W', 'b'))).hexdigest(), [tuple(w['W'].shape) for w in ${v}])\n`;
    const run = (code: string, file: string) => {
      const p = spawnSync('python3', ['-c', code, file], { encoding: 'utf8' });
      expect(p.status, p.stderr).toBe(0);
      return p.stdout.trim();
    };
    const fromModel = run(py[0].code + py[1].code + dump('layers'), model);
    const fromCkpt = run(py[0].code + py[2].code + dump('ck_layers'), ckpt);
    expect(fromModel).toMatch(/\[\(784, 12\), \(12, 8\), \(8, 10\)\]$/);
    expect(fromCkpt).toBe(fromModel);
  }, 120_000);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered */
function anchors(doc: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(doc).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1].toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

describe('links in README.md, CHANGELOG.md and docs/', () => {
  it('relative links and images resolve, #anchors included', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const doc of DOCS) {
      const text = prose(doc).replace(/`[^`\n]*`/g, '');
      for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        checked++;
        const [path, anchor] = target.split('#');
        const file = path ? resolve(dirname(join(root, doc)), decodeURI(path)) : join(root, doc);
        if (!existsSync(file)) {
          broken.push(`${doc}: ${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined) {
          const rel = relative(root, file);
          if (!rel.endsWith('.md')) broken.push(`${doc}: ${target} (an anchor into a file that is not markdown)`);
          else if (!anchors(rel).has(anchor)) broken.push(`${doc}: ${target} (no heading '#${anchor}' in ${rel})`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it('the README links the six docs and the CHANGELOG', () => {
    const readme = read('README.md');
    for (const f of ['cli', 'api', 'file-format', 'architecture', 'performance', 'robustness']) expect(readme).toContain(`(docs/${f}.md)`);
    expect(readme).toContain('(CHANGELOG.md)');
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(20_000);
  });
});

describe('performance figures in the docs', () => {
  const report = JSON.parse(readFileSync(join(root, 'bench/results/compare.json'), 'utf8'));
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const median = (id: string, workload: string) => report.results.find((r: { id: string; workload: string }) => r.id === id && r.workload === workload).epochMsMedian;

  it("README.md's table is the latest bench:compare run", () => {
    const readme = read('README.md');
    expect(readme).toContain(report.environment.date.slice(0, 10));
    const rows = readme.split('\n').filter((l) => /^\| W[123]: /.test(l));
    expect(rows.length).toBe(4);
    const ids = ['simdnet-wasm-simd', 'simdnet-wasm-simd-2t', 'numpy', 'tfjs-wasm', 'tfjs-cpu'];
    rows.forEach((row, i) => {
      const workload = ['W1', 'W2', 'W3-W1', 'W3-W2'][i];
      const cells = row.split('|').slice(2, -1).map((c) => c.trim());
      expect(cells, row).toEqual(ids.map((id) => fmt(median(id, workload))));
    });
  });

  it("docs/performance.md's tables are the latest bench:compare run", () => {
    const perf = read('docs/performance.md');
    expect(perf).toContain(readFileSync(join(root, 'bench/results/compare.md'), 'utf8').trim());
    expect(perf).toContain(report.environment.date.slice(0, 10));
    for (const t of report.targets) expect(perf).toContain(`| ${t.target} | ${t.timeRatio.toFixed(3)} | ${t.pairedTimeRatio.toFixed(3)} | ${t.maxTimeRatio.toFixed(3)} | ${t.pass ? 'met' : 'missed'} |`);
  });

  it("docs/performance.md's CNN peers table is the latest bench:compare --workloads W4,W5 run", () => {
    const perf = read('docs/performance.md');
    expect(perf).toContain(readFileSync(join(root, 'bench/results/compare-W4-W5.md'), 'utf8').trim());
    const cnn = JSON.parse(readFileSync(join(root, 'bench/results/compare-W4-W5.json'), 'utf8'));
    expect(perf).toContain(cnn.environment.date.slice(0, 10));
    expect(cnn.targets.length).toBe(6);
    for (const t of cnn.targets) {
      expect(perf).toContain(t.timeRatio === null ? `| ${t.target} | - | - | ${t.maxTimeRatio.toFixed(3)} | not measured |` : `| ${t.target} | ${t.timeRatio.toFixed(3)} | ${t.pairedTimeRatio.toFixed(3)} | ${t.maxTimeRatio.toFixed(3)} | ${t.pass ? 'met' : 'missed'} |`);
    }
  });
});
