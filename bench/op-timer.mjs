// Every op a backend runs, timed from the host: bench/cnn-ops.mjs (shares of a step) and
// bench/ab/cnn-epochs.mjs --kernels (the ops of two sides) wrap a backend with timeBackendCalls.
// Timing from the host adds a few microseconds per call.

/** the argument holding the input channels of the conv and pooling ops: their calls are keyed by it (the layer) */
const CHANNELS_AT = { conv2d_forward: 7, conv2d_backward_filter: 7, conv2d_backward_input: 6, maxpool2d_forward: 6, maxpool2d_backward: 6 };
/** the backend's own helpers, called by the ops (not ops themselves) */
const INNER = new Set(['ranged', 'inParts', 'parts', 'elementParts', 'checkPool', 'views', 'view', 'mark', 'trimTop', 'bestHole']);

/**
 * wraps every op method of `be` (in place) so that each call, after it returns or throws, reports
 * `report(key, ms, name, args)`: key is the op's name, for conv and pooling ops `${name} C=${channels}`
 */
export function timeBackendCalls(be, report) {
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(be))) {
    if (name === 'constructor' || INNER.has(name) || typeof be[name] !== 'function') continue;
    const f = be[name].bind(be), at = CHANNELS_AT[name];
    be[name] = (...a) => {
      const t0 = performance.now();
      try {
        return f(...a);
      } finally {
        report(at === undefined ? name : `${name} C=${a[at]}`, performance.now() - t0, name, a);
      }
    };
  }
}
