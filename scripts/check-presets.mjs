#!/usr/bin/env node
/**
 * Train each preset through the CLI (`simdnet train --preset NAME --json`) on the real MNIST and
 * check its accuracy target on the 10,000 test images. Prints a table (accuracy, validation
 * accuracy when the preset holds one out, epochs, minutes, command) and exits 1 when a target is
 * missed. Needs `npm run build` first.
 *
 *   node scripts/check-presets.mjs                 # every check below, one after another
 *   node scripts/check-presets.mjs fast article    # only these
 *   node scripts/check-presets.mjs --list          # the checks and their targets
 *   node scripts/check-presets.mjs best-mlp -- --backend wasm-scalar   # extra flags for every run
 *
 * The targets are the test accuracies the README promises (its presets table). The presets were chosen on validation
 * figures, never on the test set; this script only verifies the promise afterwards.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/**
 * One entry per check. `args` are the flags after `simdnet train` (default: --preset NAME);
 * `min` is the lowest acceptable test accuracy, `maxEpochs` the most epochs allowed.
 * Variants of a preset are checks of their own, e.g. (for the augmentation work):
 *   { name: 'best-mlp --augment', args: ['--preset', 'best-mlp', '--augment'], min: 0.99 },
 */
export const CHECKS = [
  { name: 'article', min: 0.97 },
  { name: 'fast', min: 0.97, maxEpochs: 2 },
  { name: 'best-mlp', min: 0.985 },
  { name: 'best-mlp --augment', args: ['--preset', 'best-mlp', '--augment'], min: 0.99, maxMinutes: 30 },
  // the CNN presets' time budgets (2 and 30 minutes) are with both threads of a 2-vCPU machine, as the README quotes them
  { name: 'cnn', args: ['--preset', 'cnn', '--threads', '2'], min: 0.992, maxEpochs: 2, maxMinutes: 2 },
  { name: 'best-cnn', args: ['--preset', 'best-cnn', '--threads', '2'], min: 0.996, maxMinutes: 30 },
];

function usage(msg) {
  process.stderr.write(`check-presets: ${msg}\nusage: node scripts/check-presets.mjs [--list] [NAME ...] [-- extra train flags]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const names = dash >= 0 ? argv.slice(0, dash) : argv;
if (!existsSync(CLI)) usage(`${CLI} is missing: run npm run build first`);
const { PRESETS } = await import(new URL('../dist/train/presets.js', import.meta.url).href);

// every preset needs a target: one without is a failure, so a new preset cannot go unchecked
const checks = [...CHECKS];
for (const p of Object.keys(PRESETS)) if (!checks.some((c) => c.name === p)) checks.push({ name: p, min: NaN });

if (names.includes('--list')) {
  for (const c of checks) process.stdout.write(`${c.name.padEnd(22)} test accuracy >= ${Number.isNaN(c.min) ? '(no target set)' : (c.min * 100).toFixed(1) + '%'}${c.maxEpochs ? ` in <= ${c.maxEpochs} epochs` : ''}\n`);
  process.exit(0);
}
for (const n of names) if (n.startsWith('-')) usage(`unknown option ${n} (flags for the runs go after --)`);
const selected = names.length ? names.map((n) => checks.find((c) => c.name === n) ?? usage(`no check named '${n}'; have ${checks.map((c) => `'${c.name}'`).join(', ')}`)) : checks;

const shq = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

function runOne(check) {
  const args = ['train', ...(check.args ?? ['--preset', check.name]), ...extra, '--json'];
  const command = `npx simdnet ${args.map(shq).join(' ')}`;
  process.stderr.write(`\n== ${check.name}: ${command}\n`);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '', err = '', done = null;
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let o;
        try { o = JSON.parse(line); } catch { continue; }
        if (o.done) done = o;
        else {
          const val = o.valAccuracy !== undefined ? `  val ${(o.valAccuracy * 100).toFixed(2)}%` : '';
          process.stderr.write(`  epoch ${o.epoch}  loss ${o.loss.toFixed(4)}${val}  ${Math.round(o.epochMs)} ms\n`);
        }
      }
    });
    child.stderr.on('data', (d) => { err += d; process.stderr.write(d); });
    child.on('exit', (code) => {
      const minutes = (performance.now() - t0) / 60_000;
      resolve({ check, command, code, done, err: err.trim(), minutes });
    });
  });
}

const results = [];
for (const c of selected) results.push(await runOne(c));

const pct = (x) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
const rows = results.map(({ check, command, code, done, err, minutes }) => {
  let ok = true;
  const why = [];
  if (Number.isNaN(check.min)) { ok = false; why.push('no target set in scripts/check-presets.mjs'); }
  if (code !== 0 || !done) { ok = false; why.push(`exit ${code}${err ? `: ${err.split('\n').pop()}` : ''}`); }
  else {
    if (done.testAccuracy < check.min) { ok = false; why.push(`below ${(check.min * 100).toFixed(1)}%`); }
    if (check.maxEpochs && done.epochs > check.maxEpochs) { ok = false; why.push(`more than ${check.maxEpochs} epochs`); }
    if (check.maxMinutes && minutes > check.maxMinutes) { ok = false; why.push(`more than ${check.maxMinutes} minutes`); }
  }
  const target = Number.isNaN(check.min) ? '-' : `>= ${(check.min * 100).toFixed(1)}%${check.maxEpochs ? `, <= ${check.maxEpochs} ep` : ''}${check.maxMinutes ? `, < ${check.maxMinutes} min` : ''}`;
  return [check.name, target, pct(done?.testAccuracy), pct(done?.valAccuracy), String(done?.epochs ?? '-'), minutes.toFixed(1), ok ? 'ok' : `FAIL (${why.join('; ')})`, command];
});
const head = ['preset', 'target', 'test acc.', 'val acc.', 'epochs', 'minutes', 'result', 'command'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
process.stdout.write('\n' + line(head) + '\n' + line(widths.map((w) => '-'.repeat(w))) + '\n' + rows.map(line).join('\n') + '\n');
process.stdout.write('test acc.: the 10,000 test images, evaluated once at the end; minutes: wall time of the whole command\n');
process.exitCode = rows.every((r) => r[6] === 'ok') ? 0 : 1;
