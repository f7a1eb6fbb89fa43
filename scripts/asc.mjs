#!/usr/bin/env node
/**
 * The AssemblyScript compiler (`asc ARGS...`) with one line of its output dropped.
 *
 * asconfig.json's release targets set "converge": asc re-runs Binaryen's optimizer while the
 * binary keeps shrinking, and when a round makes it a few bytes larger it prints "Last converge was
 * suboptimal." and stops (node_modules/assemblyscript/dist/asc.js, the converge loop). That is a
 * note about the optimizer's last round, not a diagnostic of the code, and it printed on every
 * `npm start` and `npm test`. Everything else asc prints (warnings, errors) goes through unchanged,
 * and the wasm is byte for byte what `asc` itself writes.
 */
import { main } from 'assemblyscript/asc';

const NOTE = 'Last converge was suboptimal.';
const stderr = {
  write(chunk) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.trim() !== NOTE) process.stderr.write(chunk);
    return true;
  },
};
const { error } = await main(process.argv.slice(2), { stdout: process.stdout, stderr });
if (error) process.exitCode = 1;
