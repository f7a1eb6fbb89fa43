/**
 * `simdnet train --layers LIST`: a network after the input as one comma-separated word, e.g.
 *
 *   conv3x3x32:relu,maxpool2,conv3x3x64:relu,maxpool2,flatten,dropout0.5,dense10
 *
 * Each token is a layer kind with its numbers glued on, then options after colons, in any order:
 *
 *   conv<KH>x<KW>x<F>   Conv2D: a KH x KW kernel, F filters    options s<N> (stride, default 1),
 *                                                               same | valid (default valid), an activation
 *   maxpool[<K>]        MaxPool2D over K x K windows (default 2) options s<N> (stride, default K), same | valid
 *   avgpool[<K>]        AvgPool2D, the same
 *   globalavgpool       the mean of each channel
 *   flatten             the image as a vector (NHWC order)
 *   batchnorm           BatchNorm                               options m<X> (momentum, default 0.99),
 *                                                               e<X> (epsilon, default 0.001)
 *   dropout<P>          Dropout with rate P in [0, 1)
 *   dense<N>            Dense with N units                      option: an activation
 *   relu | sigmoid | tanh | linear   an activation layer of its own
 *
 * parseLayers() is pure: a bad token is one UsageError naming it, what is wrong and a right example.
 * formatLayers() writes a list back in this syntax (defaults left out): parseLayers(formatLayers(x))
 * gives x back, so the CLI prints the network it trains in the words that make it.
 */
import type { ActivationName } from '../core/backend.js';
import { UsageError } from '../core/errors.js';
import {
  ACTIVATIONS, MAX_UNITS, MAX_WINDOW, avgPool2d, batchNorm, conv2d, dense, dropout, flatten, globalAvgPool, maxPool2d,
  activation as activationLayer, type LayerDesc, type Padding,
} from '../nn/layers.js';

/** each token kind's pattern and an example, for the messages and --help */
export const LAYER_TOKENS: readonly { form: string; example: string; what: string }[] = [
  { form: 'conv<KH>x<KW>x<F>[:s<N>][:same|valid][:ACT]', example: 'conv3x3x32:relu', what: 'a convolution: a 3x3 kernel, 32 filters' },
  { form: 'maxpool[<K>][:s<N>][:same|valid]', example: 'maxpool2', what: 'max-pooling over 2x2 windows' },
  { form: 'avgpool[<K>][:s<N>][:same|valid]', example: 'avgpool3:s2:same', what: 'average-pooling' },
  { form: 'globalavgpool', example: 'globalavgpool', what: 'the mean of each channel' },
  { form: 'flatten', example: 'flatten', what: 'the image as a vector' },
  { form: 'batchnorm[:m<X>][:e<X>]', example: 'batchnorm:m0.9', what: 'batch normalisation' },
  { form: 'dropout<P>', example: 'dropout0.5', what: 'dropout' },
  { form: 'dense<N>[:ACT]', example: 'dense128:relu', what: 'a dense layer' },
  { form: 'relu|sigmoid|tanh|linear', example: 'relu', what: 'an activation layer' },
];

const EXAMPLE = 'conv3x3x32:relu,maxpool2,flatten,dense10';
const ACTS = ACTIVATIONS as readonly string[];
const OPTION_FORMS: Record<string, string> = { stride: 's<N> (stride)', padding: 'same or valid', activation: ACTIVATIONS.join(' | '), momentum: 'm<X> (momentum)', epsilon: 'e<X> (epsilon)' };
const DECIMAL = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * the layer list of `--layers` (`flag` names it in messages). Checks each token's own numbers;
 * whether the layers chain (a convolution after flatten, a window larger than its input) is the
 * model's check, which knows the input shape.
 */
export function parseLayers(text: string, flag = '--layers'): LayerDesc[] {
  if (text.trim() === '') throw new UsageError(`${flag} is empty: give the layers after the input, comma-separated, e.g. ${EXAMPLE}`);
  return text.split(',').map((raw, i) => parseToken(raw.trim(), i + 1, flag));
}

function parseToken(token: string, n: number, flag: string): LayerDesc {
  const bad = (what: string, example: string): never => {
    throw new UsageError(`${flag}: layer ${n} '${token}': ${what}; e.g. ${example}`);
  };
  if (token === '') bad('is empty (two commas in a row, or one at either end)', EXAMPLE);
  const [head, ...opts] = token.toLowerCase().split(':');
  if (head === 'softmax' || opts.includes('softmax')) bad('softmax comes with the loss (--loss ce, the default): end the list with a dense layer without an activation', 'dense10');
  const seen = new Set<string>();
  /** the options of a token, each once: `take(test)` returns the option that passes test, if any */
  const take = (kind: string, example: string, allowed: Record<string, (o: string) => boolean>): Record<string, string | undefined> => {
    const got: Record<string, string | undefined> = {};
    for (const o of opts) {
      const key = Object.keys(allowed).find((k) => allowed[k](o));
      if (key === undefined) bad(o === '' ? 'has an empty option (two colons in a row, or one at the end)' : `unknown option '${o}' for ${kind} (it takes ${Object.keys(allowed).map((k) => OPTION_FORMS[k]).join(', ')})`, example);
      if (seen.has(key!)) bad(`gives the ${key} twice`, example);
      seen.add(key!);
      got[key!] = o;
    }
    return got;
  };
  const isAct = (o: string) => ACTS.includes(o);
  const isPad = (o: string) => o === 'same' || o === 'valid';
  const isStride = (o: string) => /^s(\d|$)/.test(o);
  const int = (s: string, lo: number, hi: number, what: string, example: string): number => {
    if (!/^\d+$/.test(s) || Number(s) < lo || Number(s) > hi) bad(`${what} must be an integer from ${lo} to ${hi}, got '${s}'`, example);
    return Number(s);
  };
  const stride = (o: string | undefined, example: string) => (o === undefined ? undefined : int(o.slice(1), 1, MAX_WINDOW, 'the stride (s<N>)', example));

  let m: RegExpExecArray | null;
  if (head.startsWith('conv')) {
    const ex = 'conv3x3x32:relu (a 3x3 kernel, 32 filters), conv5x5x64:s2:same';
    m = /^conv(\d+)x(\d+)x(\d+)$/.exec(head);
    if (!m) bad('a convolution is conv<KH>x<KW>x<FILTERS>', ex);
    const [kh, kw] = [int(m![1], 1, MAX_WINDOW, 'the kernel height', ex), int(m![2], 1, MAX_WINDOW, 'the kernel width', ex)];
    const filters = int(m![3], 1, MAX_UNITS, 'the filters', ex);
    const o = take('a convolution', ex, { stride: isStride, padding: isPad, activation: isAct });
    return conv2d(filters, [kh, kw], { stride: stride(o.stride, ex), padding: o.padding as Padding | undefined, activation: o.activation as ActivationName | undefined });
  }
  if ((m = /^(max|avg)pool(.*)$/.exec(head))) {
    const kind = m[1] === 'max' ? 'maxpool' : 'avgpool';
    const ex = `${kind}2, ${kind}3:s2:same`;
    const size = m[2] === '' ? undefined : int(m[2], 1, MAX_WINDOW, 'the window size', ex);
    const o = take(`${kind}`, ex, { stride: isStride, padding: isPad });
    const opt = { stride: stride(o.stride, ex), padding: o.padding as Padding | undefined };
    return kind === 'maxpool' ? maxPool2d(size, opt) : avgPool2d(size, opt);
  }
  if (head === 'globalavgpool' || head === 'flatten') {
    if (opts.length) bad(`${head} takes no options`, head);
    return head === 'flatten' ? flatten() : globalAvgPool();
  }
  if (head === 'batchnorm') {
    const ex = 'batchnorm, batchnorm:m0.9:e1e-5';
    const o = take('batchnorm', ex, { momentum: (x) => x.startsWith('m'), epsilon: (x) => x.startsWith('e') });
    const dec = (s: string | undefined, what: string, ok: (x: number) => boolean, range: string) => {
      if (s === undefined) return undefined;
      const x = Number(s.slice(1));
      if (!DECIMAL.test(s.slice(1)) || !ok(x)) bad(`${what} must be a decimal number in ${range}, got '${s.slice(1)}'`, ex);
      return x;
    };
    return batchNorm({ momentum: dec(o.momentum, 'the momentum (m<X>)', (x) => x >= 0 && x < 1, '[0, 1)'), epsilon: dec(o.epsilon, 'the epsilon (e<X>)', (x) => x > 0 && x <= 1, '(0, 1]') });
  }
  if (head.startsWith('dropout')) {
    const ex = 'dropout0.5';
    if (opts.length) bad('dropout takes no options', ex);
    const r = head.slice('dropout'.length);
    if (!DECIMAL.test(r) || !(Number(r) >= 0 && Number(r) < 1)) bad(r === '' ? 'give the rate: dropout<P>, P in [0, 1)' : `the rate must be a decimal number in [0, 1), got '${r}'`, ex);
    return dropout(Number(r));
  }
  if (head.startsWith('dense')) {
    const ex = 'dense128:relu, dense10';
    m = /^dense(\d+)$/.exec(head);
    if (!m) bad(head === 'dense' ? 'give the units: dense<N>' : 'a dense layer is dense<UNITS>', ex);
    const units = int(m![1], 1, MAX_UNITS, 'the units', ex);
    const o = take('a dense layer', ex, { activation: isAct });
    return dense(units, o.activation as ActivationName | undefined);
  }
  if (isAct(head)) {
    if (opts.length) bad('an activation layer takes no options', head);
    return activationLayer(head as ActivationName);
  }
  return bad(`unknown layer (use ${LAYER_TOKENS.map((t) => t.form.replace(/\[.*$/, '')).join(', ')})`, EXAMPLE);
}

/** a layer list in the syntax parseLayers() reads, each layer's defaults left out */
export function formatLayers(list: readonly LayerDesc[]): string {
  return list.map(formatLayer).join(',');
}

function formatLayer(d: LayerDesc): string {
  const act = (a: ActivationName) => (a === 'linear' ? '' : `:${a}`);
  const win = (stride: number, defaultStride: number, p: Padding) => `${stride !== defaultStride ? `:s${stride}` : ''}${p === 'same' ? ':same' : ''}`;
  switch (d.type) {
    case 'conv2d': return `conv${d.kernel[0]}x${d.kernel[1]}x${d.filters}${win(d.stride, 1, d.padding)}${act(d.activation)}`;
    case 'maxpool2d': return `maxpool${d.size}${win(d.stride, d.size, d.padding)}`;
    case 'avgpool2d': return `avgpool${d.size}${win(d.stride, d.size, d.padding)}`;
    case 'globalavgpool': return 'globalavgpool';
    case 'flatten': return 'flatten';
    case 'batchnorm': return `batchnorm${d.momentum !== 0.99 ? `:m${d.momentum}` : ''}${d.epsilon !== 0.001 ? `:e${d.epsilon}` : ''}`;
    case 'dropout': return `dropout${d.rate}`;
    case 'dense': return `dense${d.units}${act(d.activation)}`;
    case 'activation': return d.activation;
  }
}
