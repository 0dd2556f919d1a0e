/**
 * A strict reader of the Prometheus text format 0.0.4, for tests: it throws on anything a Prometheus server would
 * refuse (bad names, bad escapes, samples of undeclared families, duplicate series, a histogram without its `+Inf`
 * bucket, buckets that go down, `_count` different from the `+Inf` bucket).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

export interface HistogramSeries {
  labels: Record<string, string>;
  /** Cumulative counts by upper bound, in the order printed. */
  buckets: Array<[le: number, count: number]>;
  sum: number;
  count: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a line feed");
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  for (const [index, line] of text.slice(0, -1).split("\n").entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line === "") continue;
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) continue; // a plain comment
      const [, kind, name, rest] = match;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      const family = families.get(name) ?? { name, type: "untyped" as const, help: "", samples: [] };
      if (kind === "HELP") family.help = unescapeHelp(rest, where);
      else {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          throw new Error(`bad type, ${where}`);
        }
        if (family.samples.length) throw new Error(`TYPE after samples, ${where}`);
        family.type = rest as Family["type"];
      }
      families.set(name, family);
      continue;
    }
    const sample = parseSample(line, where);
    const family = familyOf(families, sample.name);
    if (!family) throw new Error(`sample of an undeclared family, ${where}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series, ${where}`);
    seen.add(key);
    family.samples.push(sample);
  }
  for (const family of families.values()) if (family.type === "histogram") histogramSeries(family);
  return families;
}

/** The value of the sample with exactly these labels, or undefined. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = familyOf(families, name);
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return family?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)
    ?.value;
}

/** A histogram's series, checked: increasing bounds, non-decreasing counts, `+Inf` last and equal to `_count`. */
export function histogramSeries(family: Family): HistogramSeries[] {
  const byLabels = new Map<string, HistogramSeries>();
  const series = (labels: Record<string, string>) => {
    const key = JSON.stringify(Object.entries(labels).sort());
    let found = byLabels.get(key);
    if (!found) byLabels.set(key, found = { labels, buckets: [], sum: NaN, count: NaN });
    return found;
  };
  for (const sample of family.samples) {
    const { le, ...labels } = sample.labels;
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      series(labels).buckets.push([le === "+Inf" ? Infinity : Number(le), sample.value]);
    } else if (sample.name === `${family.name}_sum`) series(labels).sum = sample.value;
    else if (sample.name === `${family.name}_count`) series(labels).count = sample.value;
    else throw new Error(`${family.name}: unexpected sample ${sample.name}`);
  }
  for (const s of byLabels.values()) {
    const where = `${family.name}${JSON.stringify(s.labels)}`;
    if (Number.isNaN(s.sum) || Number.isNaN(s.count)) throw new Error(`${where}: _sum or _count missing`);
    if (s.buckets.at(-1)?.[0] !== Infinity) throw new Error(`${where}: no +Inf bucket last`);
    s.buckets.forEach(([le, count], i) => {
      if (Number.isNaN(le)) throw new Error(`${where}: le is not a number`);
      if (i > 0 && le <= s.buckets[i - 1][0]) throw new Error(`${where}: bounds do not increase`);
      if (i > 0 && count < s.buckets[i - 1][1]) throw new Error(`${where}: bucket counts go down`);
    });
    if (s.buckets.at(-1)![1] !== s.count) throw new Error(`${where}: +Inf bucket differs from _count`);
    if (s.count === 0 ? s.sum !== 0 : s.sum < 0) throw new Error(`${where}: impossible _sum ${s.sum}`);
  }
  return [...byLabels.values()];
}

function familyOf(families: Map<string, Family>, sampleName: string): Family | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  const base = sampleName.replace(/_(bucket|sum|count)$/, "");
  const family = families.get(base);
  return family && (family.type === "histogram" || family.type === "summary") ? family : undefined;
}

function parseSample(line: string, where: string): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) throw new Error(`bad sample name, ${where}`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const labelName = /^[^=]*/.exec(line.slice(i))![0];
      if (!LABEL_NAME.test(labelName)) throw new Error(`bad label name '${labelName}', ${where}`);
      i += labelName.length;
      if (line.slice(i, i + 2) !== '="') throw new Error(`expected =", ${where}`);
      i += 2;
      let value = "";
      for (;; i++) {
        const char = line[i];
        if (char === undefined) throw new Error(`unterminated label value, ${where}`);
        if (char === '"') break;
        if (char !== "\\") {
          value += char;
          continue;
        }
        const escaped = line[++i];
        if (escaped === "\\") value += "\\";
        else if (escaped === '"') value += '"';
        else if (escaped === "n") value += "\n";
        else throw new Error(`bad escape \\${escaped}, ${where}`);
      }
      i++;
      if (Object.hasOwn(labels, labelName)) throw new Error(`repeated label, ${where}`);
      labels[labelName] = value;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new Error(`expected , or }, ${where}`);
    }
    i++;
  }
  const rest = line.slice(i);
  const match = /^ (\S+)( -?\d+)?$/.exec(rest);
  if (!match) throw new Error(`bad value, ${where}`);
  const raw = match[1];
  const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : raw === "NaN" ? NaN : Number(raw);
  if (Number.isNaN(value) && raw !== "NaN") throw new Error(`bad value, ${where}`);
  return { name, labels, value };
}

function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.)/g, (_, char: string) => {
    if (char === "\\") return "\\";
    if (char === "n") return "\n";
    throw new Error(`bad escape in HELP, ${where}`);
  });
}
