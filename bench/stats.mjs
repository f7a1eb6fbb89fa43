/**
 * Small statistics shared by the bench scripts, defined once: every "median", "p90" or "pair ratio"
 * a bench script prints means what this file says.
 */

const sorted = (xs) => [...xs].sort((a, b) => a - b);

/** the median of a list of numbers (the mean of the middle two for an even count) */
export const median = (xs) => {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * the q-quantile (0 <= q <= 1) by linear interpolation between the order statistics (NumPy's
 * default), so quantile(xs, 0.5) is median(xs), quantile(xs, 0) the minimum, quantile(xs, 1) the maximum
 */
export const quantile = (xs, q) => {
  const s = sorted(xs);
  const h = (s.length - 1) * q, lo = Math.floor(h), hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
};

/** { n, min, p10, median, p90, max } of a list of numbers */
export const summary = (xs) => ({
  n: xs.length, min: Math.min(...xs), p10: quantile(xs, 0.1), median: median(xs), p90: quantile(xs, 0.9), max: Math.max(...xs),
});

/**
 * The pair ratio: the median over pairs of a[i] / b[i], where a[i] and b[i] were measured back to
 * back (one pair). Slow spells of a shared machine fall on both members of a pair, so this holds
 * still where the ratio of the two medians (median(a) / median(b)) moves with them.
 */
export const pairRatio = (a, b) => median(a.map((x, i) => x / b[i]));
