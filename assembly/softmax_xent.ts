// Output layers (loss heads) and prediction. V = classes, B = rows.
//   logits, probs, dlogits, scores are (B, V) f32; labels is (B) i32; out is (B) i32.
// They run in f64 per row like the TS reference, with fdlibm's exp and log (assembly/fdlibm.ts,
// what V8's Math.exp and Math.log compute), so the probabilities and losses equal the reference's
// bit for bit. Both heads take their exps two lanes at a time (SIMD builds), as fast as musl's
// scalar exp was (8-9 ns a value; fdlibm's scalar exp, with its division, takes 17).
import { checkSpan } from './data';
import { expLanes, fdlibmExp, fdlibmLog } from './fdlibm';

// probs = softmax(logits) per row; returns the sum over rows of the cross-entropy against the
// smoothed target t = (1 - e) onehot(label) + e / V: -(1 - e) log probs[label] - (e / V) sum_v log probs[v]
// (e = 0: -log probs[label]), from the max-shifted logits: log sum - (1 - e)(z[label] - max) - (e / V) sum_v (z[v] - max)
export function softmax_xent_forward(probs: usize, logits: usize, labels: usize, B: i32, V: i32, smoothing: f64): f64 {
  checkSpan(probs, B * V, 4);
  checkSpan(logits, B * V, 4);
  checkSpan(labels, B, 4);
  assert(V > 0, 'V must be positive');
  let loss: f64 = 0;
  for (let b = 0; b < B; b++) {
    const z = logits + ((<usize>b * <usize>V) << 2);
    const p = probs + ((<usize>b * <usize>V) << 2);
    let max: f64 = -Infinity;
    for (let v = 0; v < V; v++) {
      const x = <f64>load<f32>(z + (<usize>v << 2));
      if (x > max) max = x;
    }
    const y = load<i32>(labels + (<usize>b << 2));
    assert(y >= 0 && y < V, 'label out of range');
    const zy = <f64>load<f32>(z + (<usize>y << 2));
    // one exp per element, in the reference's order and roundings: probs[v] = fround(e), then
    // probs[v] = fround(probs[v] / sum) with sum the f64 sum of the unrounded e, in order
    let sum: f64 = 0;
    let v = 0;
    if (ASC_FEATURE_SIMD) {
      const m = f64x2.splat(max);
      for (; v + 2 <= V; v += 2) {
        const o = <usize>v << 2;
        const e = expLanes(f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(z + o)), m), false);
        v128.store64_lane(p + o, f32x4.demote_f64x2_zero(e), 0);
        sum += f64x2.extract_lane(e, 0);
        sum += f64x2.extract_lane(e, 1);
      }
    }
    for (; v < V; v++) {
      const o = <usize>v << 2;
      const e = fdlibmExp(<f64>load<f32>(z + o) - max);
      store<f32>(p + o, <f32>e);
      sum += e;
    }
    v = 0;
    if (ASC_FEATURE_SIMD) {
      const s = f64x2.splat(sum);
      for (; v + 2 <= V; v += 2) {
        const o = <usize>v << 2;
        v128.store64_lane(p + o, f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(p + o)), s)), 0);
      }
    }
    for (; v < V; v++) {
      const o = <usize>v << 2;
      store<f32>(p + o, <f32>(<f64>load<f32>(p + o) / sum));
    }
    // the shifted logits' sum, in order (only when smoothing: e = 0 adds 0 * 0, the plain loss bit for bit)
    let shifted: f64 = 0;
    if (smoothing != 0) for (v = 0; v < V; v++) shifted += <f64>load<f32>(z + (<usize>v << 2)) - max;
    loss += fdlibmLog(sum) - (1 - smoothing) * (zy - max) - (smoothing / <f64>V) * shifted;
  }
  return loss;
}

// dlogits = (probs - t) * scale, t = (1 - e) onehot(labels) + e / V (e = 0: onehot, bit for bit)
export function softmax_xent_backward(dlogits: usize, probs: usize, labels: usize, B: i32, V: i32, scale: f64, smoothing: f64): void {
  checkSpan(dlogits, B * V, 4);
  checkSpan(probs, B * V, 4);
  checkSpan(labels, B, 4);
  const off: f64 = smoothing / <f64>V, on: f64 = 1 - smoothing + off;
  for (let b = 0; b < B; b++) {
    const row = (<usize>b * <usize>V) << 2;
    const y = load<i32>(labels + (<usize>b << 2));
    assert(y >= 0 && y < V, 'label out of range');
    for (let v = 0; v < V; v++) {
      const o = row + (<usize>v << 2);
      store<f32>(dlogits + o, <f32>((<f64>load<f32>(probs + o) - (v == y ? on : off)) * scale));
    }
  }
}

// probs = sigmoid(logits); returns sum over rows of 0.5 * sum_v (probs - onehot)^2
export function sigmoid_mse_forward(probs: usize, logits: usize, labels: usize, B: i32, V: i32): f64 {
  checkSpan(probs, B * V, 4);
  checkSpan(logits, B * V, 4);
  checkSpan(labels, B, 4);
  let loss: f64 = 0;
  for (let b = 0; b < B; b++) {
    const row = (<usize>b * <usize>V) << 2;
    const y = load<i32>(labels + (<usize>b << 2));
    assert(y >= 0 && y < V, 'label out of range');
    let v = 0;
    if (ASC_FEATURE_SIMD) {
      // two values at a time: s = fround(1 / (1 + exp(-x))) in f64 as below, the loss in order
      for (; v + 2 <= V; v += 2) {
        const o = row + (<usize>v << 2);
        const e = expLanes(f64x2.neg(f64x2.promote_low_f32x4(v128.load64_zero(logits + o))), true);
        const sf = f32x4.demote_f64x2_zero(f64x2.div(f64x2.splat(1.0), f64x2.add(f64x2.splat(1.0), e)));
        v128.store64_lane(probs + o, sf, 0);
        const s2 = f64x2.promote_low_f32x4(sf);
        const e0 = f64x2.extract_lane(s2, 0) - (v == y ? 1.0 : 0.0);
        loss += 0.5 * e0 * e0;
        const e1 = f64x2.extract_lane(s2, 1) - (v + 1 == y ? 1.0 : 0.0);
        loss += 0.5 * e1 * e1;
      }
    }
    for (; v < V; v++) {
      const o = row + (<usize>v << 2);
      const s = <f32>(1.0 / (1.0 + fdlibmExp(-<f64>load<f32>(logits + o))));
      store<f32>(probs + o, s);
      const e = <f64>s - (v == y ? 1.0 : 0.0);
      loss += 0.5 * e * e;
    }
  }
  return loss;
}

// dlogits = (probs - onehot) * probs * (1 - probs) * scale
export function sigmoid_mse_backward(dlogits: usize, probs: usize, labels: usize, B: i32, V: i32, scale: f64): void {
  checkSpan(dlogits, B * V, 4);
  checkSpan(probs, B * V, 4);
  checkSpan(labels, B, 4);
  for (let b = 0; b < B; b++) {
    const row = (<usize>b * <usize>V) << 2;
    const y = load<i32>(labels + (<usize>b << 2));
    assert(y >= 0 && y < V, 'label out of range');
    for (let v = 0; v < V; v++) {
      const o = row + (<usize>v << 2);
      const s = <f64>load<f32>(probs + o);
      store<f32>(dlogits + o, <f32>((s - (v == y ? 1.0 : 0.0)) * s * (1.0 - s) * scale));
    }
  }
}

// out[b] = argmax_v scores[b][v] (first maximum wins); returns the count of out[b] == labels[b]
// (labels == 0: no labels, returns 0)
export function argmax_rows(out: usize, scores: usize, labels: usize, B: i32, V: i32): i32 {
  checkSpan(out, B, 4);
  checkSpan(scores, B * V, 4);
  if (labels) checkSpan(labels, B, 4);
  let correct = 0;
  for (let b = 0; b < B; b++) {
    const s = scores + ((<usize>b * <usize>V) << 2);
    let best = 0;
    let bestv = load<f32>(s);
    for (let v = 1; v < V; v++) {
      const x = load<f32>(s + (<usize>v << 2));
      if (x > bestv) {
        best = v;
        bestv = x;
      }
    }
    store<i32>(out + (<usize>b << 2), best);
    if (labels && load<i32>(labels + (<usize>b << 2)) == best) correct++;
  }
  return correct;
}
