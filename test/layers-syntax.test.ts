/** `--layers LIST` (src/cli/layers-syntax.ts): every token and option, the messages of bad ones, and formatLayers() round trips. */
import { describe, expect, it } from 'vitest';
import { formatLayers, parseLayers } from '../src/cli/layers-syntax.js';
import { UsageError } from '../src/core/errors.js';
import { activation, avgPool2d, batchNorm, conv2d, dense, dropout, flatten, globalAvgPool, maxPool2d, type LayerDesc } from '../src/nn/layers.js';

const one = (t: string) => {
  const l = parseLayers(t);
  expect(l.length).toBe(1);
  return l[0];
};

describe('parseLayers: every token and option', () => {
  const cases: [string, LayerDesc][] = [
    ['conv3x3x32', conv2d(32, 3)],
    ['conv2x5x7', conv2d(7, [2, 5])],
    ['conv3x3x32:relu', conv2d(32, 3, { activation: 'relu' })],
    ['conv5x5x64:s2', conv2d(64, 5, { stride: 2 })],
    ['conv3x3x16:same', conv2d(16, 3, { padding: 'same' })],
    ['conv3x3x16:valid', conv2d(16, 3)],
    ['conv1x1x8:tanh:same:s3', conv2d(8, 1, { stride: 3, padding: 'same', activation: 'tanh' })],
    ['conv3x3x4:sigmoid', conv2d(4, 3, { activation: 'sigmoid' })],
    ['conv3x3x4:linear', conv2d(4, 3)],
    ['maxpool2', maxPool2d(2)],
    ['maxpool', maxPool2d()],
    ['maxpool3:s2', maxPool2d(3, { stride: 2 })],
    ['maxpool3:s2:same', maxPool2d(3, { stride: 2, padding: 'same' })],
    ['maxpool2:valid', maxPool2d(2)],
    ['avgpool2', avgPool2d(2)],
    ['avgpool', avgPool2d()],
    ['avgpool3:same:s1', avgPool2d(3, { stride: 1, padding: 'same' })],
    ['globalavgpool', globalAvgPool()],
    ['flatten', flatten()],
    ['batchnorm', batchNorm()],
    ['batchnorm:m0.9', batchNorm({ momentum: 0.9 })],
    ['batchnorm:e1e-5', batchNorm({ epsilon: 1e-5 })],
    ['batchnorm:e0.01:m0', batchNorm({ momentum: 0, epsilon: 0.01 })],
    ['dropout0.5', dropout(0.5)],
    ['dropout0', dropout(0)],
    ['dropout.25', dropout(0.25)],
    ['dense10', dense(10)],
    ['dense128:relu', dense(128, 'relu')],
    ['dense64:sigmoid', dense(64, 'sigmoid')],
    ['relu', activation('relu')],
    ['sigmoid', activation('sigmoid')],
    ['tanh', activation('tanh')],
    ['linear', activation('linear')],
    ['Conv3x3x8:ReLU', conv2d(8, 3, { activation: 'relu' })],
  ];
  for (const [t, want] of cases) {
    it(`${t}`, () => {
      expect(one(t)).toEqual(want);
      // written back and read again: the same layer
      expect(parseLayers(formatLayers([want]))).toEqual([want]);
    });
  }

  it("the Keras mnist_convnet, spaces around tokens allowed; formatLayers writes it back with defaults left out", () => {
    const text = 'conv3x3x32:relu, maxpool2, conv3x3x64:relu, maxpool2, flatten, dropout0.5, dense10';
    const l = parseLayers(text);
    expect(l).toEqual([conv2d(32, 3, { activation: 'relu' }), maxPool2d(2), conv2d(64, 3, { activation: 'relu' }), maxPool2d(2), flatten(), dropout(0.5), dense(10)]);
    expect(formatLayers(l)).toBe(text.replace(/ /g, ''));
    expect(formatLayers(parseLayers('conv3x3x32:valid:linear:s1,maxpool2:s2:valid,batchnorm:m0.99:e0.001'))).toBe('conv3x3x32,maxpool2,batchnorm');
    expect(formatLayers([maxPool2d(2, { stride: 1 }), batchNorm({ momentum: 0.9, epsilon: 1e-7 })])).toBe('maxpool2:s1,batchnorm:m0.9:e1e-7');
  });
});

describe('parseLayers: a bad token is one line naming it, what is wrong and a right example', () => {
  const bad: [string, RegExp][] = [
    ['', /^--layers is empty: give the layers after the input, comma-separated, e\.g\. conv3x3x32:relu,maxpool2,flatten,dense10$/],
    ['dense10,,dense5', /^--layers: layer 2 '': is empty \(two commas in a row, or one at either end\); e\.g\. /],
    ['dense10,', /^--layers: layer 2 '': is empty/],
    ['conv3x3', /^--layers: layer 1 'conv3x3': a convolution is conv<KH>x<KW>x<FILTERS>; e\.g\. conv3x3x32:relu/],
    ['conv3x3x0', /layer 1 'conv3x3x0': the filters must be an integer from 1 to 16777216, got '0'; e\.g\. conv3x3x32:relu/],
    ['conv0x3x8', /'conv0x3x8': the kernel height must be an integer from 1 to 4096, got '0'/],
    ['conv3x5000x8', /'conv3x5000x8': the kernel width must be an integer from 1 to 4096, got '5000'/],
    ['conv3x3x8:s0', /'conv3x3x8:s0': the stride \(s<N>\) must be an integer from 1 to 4096, got '0'; e\.g\. conv3x3x32:relu/],
    ['conv3x3x8:elu', /'conv3x3x8:elu': unknown option 'elu' for a convolution \(it takes s<N> \(stride\), same or valid, sigmoid \| relu \| tanh \| linear\); e\.g\. /],
    ['dense10:softmax', /^--layers: layer 1 'dense10:softmax': softmax comes with the loss \(--loss ce, the default\): end the list with a dense layer without an activation; e\.g\. dense10$/],
    ['conv3x3x8:relu:tanh', /'conv3x3x8:relu:tanh': gives the activation twice; e\.g\. /],
    ['conv3x3x8:same:valid', /gives the padding twice/],
    ['conv3x3x8:', /'conv3x3x8:': has an empty option/],
    ['maxpool0', /^--layers: layer 1 'maxpool0': the window size must be an integer from 1 to 4096, got '0'; e\.g\. maxpool2, maxpool3:s2:same$/],
    ['maxpoolx', /'maxpoolx': the window size must be an integer/],
    ['maxpool2:relu', /'maxpool2:relu': unknown option 'relu' for maxpool \(it takes s<N> \(stride\), same or valid\); e\.g\. maxpool2/],
    ['avgpool2:s', /'avgpool2:s': the stride \(s<N>\) must be an integer from 1 to 4096, got ''; e\.g\. avgpool2/],
    ['flatten:relu', /'flatten:relu': flatten takes no options; e\.g\. flatten$/],
    ['globalavgpool:2', /'globalavgpool:2': globalavgpool takes no options; e\.g\. globalavgpool$/],
    ['batchnorm:m1', /'batchnorm:m1': the momentum \(m<X>\) must be a decimal number in \[0, 1\), got '1'; e\.g\. batchnorm, batchnorm:m0\.9:e1e-5$/],
    ['batchnorm:e0', /'batchnorm:e0': the epsilon \(e<X>\) must be a decimal number in \(0, 1\], got '0'/],
    ['batchnorm:e0x1', /the epsilon \(e<X>\) must be a decimal number in \(0, 1\], got '0x1'/],
    ['batchnorm:x', /'batchnorm:x': unknown option 'x' for batchnorm \(it takes m<X> \(momentum\), e<X> \(epsilon\)\)/],
    ['dropout', /'dropout': give the rate: dropout<P>, P in \[0, 1\); e\.g\. dropout0\.5$/],
    ['dropout1', /'dropout1': the rate must be a decimal number in \[0, 1\), got '1'/],
    ['dropout0.5:relu', /'dropout0\.5:relu': dropout takes no options/],
    ['dense', /'dense': give the units: dense<N>; e\.g\. dense128:relu, dense10$/],
    ['dense1.5', /'dense1\.5': a dense layer is dense<UNITS>/],
    ['dense0', /'dense0': the units must be an integer from 1 to 16777216, got '0'/],
    ['dense10:s2', /'dense10:s2': unknown option 's2' for a dense layer \(it takes sigmoid \| relu \| tanh \| linear\)/],
    ['relu:2', /'relu:2': an activation layer takes no options; e\.g\. relu$/],
    ['dense10,conv', /^--layers: layer 2 'conv': a convolution is/],
    ['softmax', /^--layers: layer 1 'softmax': softmax comes with the loss/],
    ['elu', /^--layers: layer 1 'elu': unknown layer \(use conv<KH>x<KW>x<F>, maxpool, avgpool, globalavgpool, flatten, batchnorm, dropout<P>, dense<N>, relu\|sigmoid\|tanh\|linear\); e\.g\. conv3x3x32:relu,maxpool2,flatten,dense10$/],
  ];
  for (const [t, re] of bad) {
    it(`'${t}'`, () => {
      let err: unknown;
      try {
        parseLayers(t);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      const msg = (err as Error).message;
      expect(msg).toMatch(re);
      expect(msg.includes('\n')).toBe(false);
    });
  }
});
