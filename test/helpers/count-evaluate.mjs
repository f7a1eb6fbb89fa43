/**
 * Preloaded into a CLI child process (node --import): counts Model.evaluate() calls and prints the
 * count on stderr at exit, so a test sees whether the CLI evaluated the test set again.
 */
import { Network } from '../../dist/nn/model.js';

let calls = 0;
const evaluate = Network.prototype.evaluate;
Network.prototype.evaluate = function (...args) {
  calls++;
  return evaluate.apply(this, args);
};
process.on('exit', () => process.stderr.write(`evaluate() calls: ${calls}\n`));
