/**
 * Counters, gauges and histograms kept in memory per label set and rendered in the Prometheus text format. Each
 * one may mirror its records to an OpenTelemetry instrument, so the same numbers reach an OTel pipeline too.
 * Label values are whatever the caller passes: callers keep them to small, known sets (route patterns, agent
 * names from the configuration), never raw request data.
 */

import type { Attributes, Counter as OtelCounter, Histogram as OtelHistogram, UpDownCounter } from "@opentelemetry/api";
import { familyHeader, formatLabels, formatNumber } from "./prometheus_text.ts";

export type LabelValues<L extends string> = { readonly [K in L]: string };

export interface MetricSpec<L extends string> {
  /** The Prometheus name: counters end in `_total`, durations in `_seconds`. */
  name: string;
  help: string;
  /** Label names, in the order they are printed. */
  labels: readonly L[];
}

/** The series of one metric family, by label values. */
class SeriesMap<L extends string, C> {
  /**
   * One map level per label, in spec order, the last one holding the series: a lookup reads the label values as
   * they are, with no key string built per record (a step makes about a dozen records).
   */
  readonly #root = new Map<unknown, unknown>();
  /** Every series, in creation order (what `/metrics` renders). */
  readonly #all: Array<{ labels: LabelValues<L>; cell: C }> = [];

  constructor(readonly spec: MetricSpec<L>, readonly newCell: () => C) {}

  cell(labels: LabelValues<L>): C {
    const names = this.spec.labels;
    let map = this.#root;
    for (let i = 0; i < names.length; i++) {
      const value = labels[names[i]];
      let next = map.get(value) as Map<unknown, unknown> | undefined;
      if (!next) map.set(value, next = new Map());
      map = next;
    }
    let entry = map.get(SERIES) as { labels: LabelValues<L>; cell: C } | undefined;
    if (!entry) {
      entry = { labels: { ...labels }, cell: this.newCell() };
      map.set(SERIES, entry);
      this.#all.push(entry);
    }
    return entry.cell;
  }

  peek(labels: LabelValues<L>): C | undefined {
    let map: Map<unknown, unknown> | undefined = this.#root;
    for (const name of this.spec.labels) map = map?.get(labels[name]) as Map<unknown, unknown> | undefined;
    return (map?.get(SERIES) as { cell: C } | undefined)?.cell;
  }

  /** Label pairs in spec order (plus `extra`, e.g. a bucket's `le`) and the cell, for each series. */
  *entries(): Generator<[pairs: Array<[string, string]>, cell: C]> {
    for (const { labels, cell } of this.#all) {
      yield [this.spec.labels.map((name) => [name, labels[name]]), cell];
    }
  }

  get size(): number {
    return this.#all.length;
  }
}

/** The key under which a map level of `SeriesMap` holds its series (no label value is this symbol). */
const SERIES = Symbol("series");

/** Only goes up. */
export class Counter<L extends string = never> {
  readonly #series: SeriesMap<L, { value: number }>;

  constructor(readonly spec: MetricSpec<L>, readonly otel?: OtelCounter) {
    this.#series = new SeriesMap(spec, () => ({ value: 0 }));
  }

  add(labels: LabelValues<L>, value = 1): void {
    this.#series.cell(labels).value += value;
    if (this.otel) mirror(() => this.otel?.add(value, labels as Attributes));
  }

  value(labels: LabelValues<L>): number {
    return this.#series.peek(labels)?.value ?? 0;
  }

  render(): string[] {
    return renderSimple(this.spec, "counter", this.#series);
  }
}

/** Goes up and down (things in flight). */
export class Gauge<L extends string = never> {
  readonly #series: SeriesMap<L, { value: number }>;

  constructor(readonly spec: MetricSpec<L>, readonly otel?: UpDownCounter) {
    this.#series = new SeriesMap(spec, () => ({ value: 0 }));
  }

  add(labels: LabelValues<L>, delta: number): void {
    this.#series.cell(labels).value += delta;
    if (this.otel) mirror(() => this.otel?.add(delta, labels as Attributes));
  }

  value(labels: LabelValues<L>): number {
    return this.#series.peek(labels)?.value ?? 0;
  }

  render(): string[] {
    return renderSimple(this.spec, "gauge", this.#series);
  }
}

/** Counts observations into buckets (upper bounds, inclusive) and keeps their sum. */
export class Histogram<L extends string = never> {
  readonly #series: SeriesMap<L, { buckets: number[]; sum: number; count: number }>;

  constructor(readonly spec: MetricSpec<L>, readonly bounds: readonly number[], readonly otel?: OtelHistogram) {
    if (bounds.some((bound, i) => !Number.isFinite(bound) || (i > 0 && bound <= bounds[i - 1]))) {
      throw new RangeError(`${spec.name}: bucket bounds must be finite and increase (+Inf is added)`);
    }
    this.#series = new SeriesMap(spec, () => ({ buckets: bounds.map(() => 0), sum: 0, count: 0 }));
  }

  observe(labels: LabelValues<L>, value: number): void {
    const cell = this.#series.cell(labels);
    const index = this.bounds.findIndex((bound) => value <= bound);
    if (index >= 0) cell.buckets[index]++;
    cell.sum += value;
    cell.count++;
    if (this.otel) mirror(() => this.otel?.record(value, labels as Attributes));
  }

  render(): string[] {
    const { name, help } = this.spec;
    const lines = familyHeader(name, "histogram", help);
    for (const [pairs, cell] of this.#series.entries()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += cell.buckets[i];
        lines.push(`${name}_bucket${formatLabels([...pairs, ["le", formatNumber(bound)]])} ${cumulative}`);
      });
      lines.push(`${name}_bucket${formatLabels([...pairs, ["le", "+Inf"]])} ${cell.count}`);
      lines.push(`${name}_sum${formatLabels(pairs)} ${formatNumber(cell.sum)}`);
      lines.push(`${name}_count${formatLabels(pairs)} ${cell.count}`);
    }
    return lines;
  }
}

/** Records to an OpenTelemetry instrument: a failing SDK or exporter must never fail the request being counted. */
function mirror(record: () => void): void {
  try {
    record();
  } catch {
    // The Prometheus side has the value; the OTel pipeline reports its own errors.
  }
}

/** Counter and gauge lines; a family without labels always shows its value (0 before anything happened). */
function renderSimple<L extends string>(
  spec: MetricSpec<L>,
  type: "counter" | "gauge",
  series: SeriesMap<L, { value: number }>,
): string[] {
  const lines = familyHeader(spec.name, type, spec.help);
  if (spec.labels.length === 0 && series.size === 0) lines.push(`${spec.name} 0`);
  for (const [pairs, cell] of series.entries()) {
    lines.push(`${spec.name}${formatLabels(pairs)} ${formatNumber(cell.value)}`);
  }
  return lines;
}
