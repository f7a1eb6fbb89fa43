// The peers' side of bench/compare.mjs's protocol: one JSON object per line on stdin ({ cmd, ... }),
// one answer per line on stdout ({ ok: true, ... } or { ok: false, error }), until { cmd: 'quit' }.
import { createInterface } from 'node:readline';

export async function serve(commands) {
  // stdout carries the protocol: anything a library prints goes to stderr
  const send = process.stdout.write.bind(process.stdout);
  console.log = console.info = console.warn;
  for await (const line of createInterface({ input: process.stdin })) {
    const msg = JSON.parse(line);
    if (msg.cmd === 'quit') break;
    let out;
    try {
      if (!commands[msg.cmd]) throw new Error(`unknown command ${msg.cmd}`);
      out = { ok: true, ...(await commands[msg.cmd](msg)) };
    } catch (e) {
      out = { ok: false, error: String(e?.message ?? e).replace(/\s+/g, ' ') };
    }
    send(JSON.stringify(out) + '\n');
  }
  process.exit(0);
}
