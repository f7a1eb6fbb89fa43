/** A minimal live line chart in inline SVG: a few series, auto-scaled axes, no dependencies. */
const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** draw dots at the points (for sparse series such as per-epoch test accuracy) */
  dots?: boolean;
}

export class LineChart {
  readonly svg: SVGSVGElement;
  private series: Series[] = [];

  constructor(
    parent: HTMLElement,
    private opts: { title: string; yMin?: number; yMax?: number; xLabel: string; format: (v: number) => string; width?: number; height?: number },
  ) {
    this.svg = document.createElementNS(SVG, 'svg');
    const w = opts.width ?? 420, h = opts.height ?? 200;
    this.svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', opts.title);
    this.svg.classList.add('chart');
    parent.append(this.svg);
    this.render();
  }

  setSeries(series: Series[]) {
    this.series = series;
    this.render();
  }

  render() {
    const w = this.opts.width ?? 420, h = this.opts.height ?? 200;
    const L = 46, R = 10, T = 22, B = 28;
    const all = this.series.flatMap((s) => s.points);
    const xMax = Math.max(1, ...all.map((p) => p[0]));
    let yMin = this.opts.yMin ?? Math.min(...all.map((p) => p[1]), Infinity);
    let yMax = this.opts.yMax ?? Math.max(...all.map((p) => p[1]), -Infinity);
    if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
    if (yMax - yMin < 1e-9) yMax = yMin + 1;
    const X = (x: number) => L + (x / xMax) * (w - L - R);
    const Y = (y: number) => T + (1 - (y - yMin) / (yMax - yMin)) * (h - T - B);
    const parts: string[] = [`<text x="${L}" y="14" class="title">${this.opts.title}</text>`];
    for (let i = 0; i <= 4; i++) {
      const v = yMin + ((yMax - yMin) * i) / 4;
      parts.push(`<line x1="${L}" x2="${w - R}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/>`, `<text x="${L - 4}" y="${Y(v) + 4}" class="tick" text-anchor="end">${this.opts.format(v)}</text>`);
    }
    parts.push(`<text x="${w - R}" y="${h - 6}" class="tick" text-anchor="end">${this.opts.xLabel} ${xMax.toFixed(xMax < 10 ? 1 : 0)}</text>`);
    let lx = w - R;
    for (const s of [...this.series].reverse()) {
      const label = `<text x="${lx}" y="14" class="legend" fill="${s.color}" text-anchor="end">${s.name}</text>`;
      parts.push(label);
      lx -= s.name.length * 7 + 14;
      if (s.points.length === 0) continue;
      const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
      if (s.dots) for (const p of s.points) parts.push(`<circle cx="${X(p[0])}" cy="${Y(p[1])}" r="3" fill="${s.color}"/>`);
    }
    this.svg.innerHTML = parts.join('');
  }
}
