// A small line chart in SVG, with its figures in words for those who do not see it.
export interface Series {
  label: string;
  values: number[];
  tone: string;
}

export function Sparkline({ title, series, width = 280, height = 64 }: { title: string; series: Series[]; width?: number; height?: number }) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const points = (values: number[]): string =>
    values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * width).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`).join(' ');
  const summary = series.map((s) => `${s.label} now ${s.values.at(-1) ?? 0}`).join(', ');
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${title}: ${summary}`}>
        {series.map((s) => (
          <polyline key={s.label} points={points(s.values)} fill="none" class={`line ${s.tone}`} stroke-width="2" />
        ))}
      </svg>
      <p class="legend">
        {series.map((s) => (
          <span key={s.label} class={`key ${s.tone}`}>{s.label}: {s.values.at(-1) ?? 0}</span>
        ))}
      </p>
    </figure>
  );
}
