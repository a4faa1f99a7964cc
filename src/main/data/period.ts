/**
 * A series' own period, for forecast rows past its last row (`recur predict --steps`, SPEC §4):
 * numeric times continue by the series' last step; dates by the calendar period the series
 * keeps — daily, weekly, monthly (the same day of every month) or yearly — at 90% of its steps
 * and at its last one (a few gaps are missing rows, not another period). A series that keeps
 * none is irregular: its forecasts cannot be dated. Dates past the end are written YYYY-MM-DD.
 */

/** The times of the next `count` rows after `cells` (a series' time cells, in order), or the reason there are none. */
export function continueTimes(cells: readonly string[], count: number): { times: string[] } | { problem: string } {
  if (cells.length < 2) return { problem: 'needs at least two rows to infer its period' };
  if (cells.every((c) => c.trim() !== '' && Number.isFinite(Number(c)))) {
    const last = Number(cells[cells.length - 1]), step = last - Number(cells[cells.length - 2]);
    return { times: Array.from({ length: count }, (_, k) => formatStep(last + (k + 1) * step)) };
  }
  const parsed = cells.map(calendarDate);
  const bad = parsed.findIndex((d) => d === null);
  if (bad >= 0) return { problem: `${JSON.stringify(cells[bad])} is neither a number nor a date` };
  const dates = parsed as CalendarDate[];
  const n = dates.length - 1, last = dates[n]!;
  const days = dates.map(dayNumber), months = dates.map((d) => d.year * 12 + d.month);
  const keeps: Record<Period, (i: number) => boolean> = {
    daily: (i) => days[i] - days[i - 1] === 1,
    weekly: (i) => days[i] - days[i - 1] === 7,
    monthly: (i) => months[i] - months[i - 1] === 1 && dates[i].day === dates[i - 1].day,
    yearly: (i) => months[i] - months[i - 1] === 12 && dates[i].day === dates[i - 1].day,
  };
  // The period most steps keep; a few gaps (a missing day or month) are allowed, not a change of period.
  let best: Period | null = null, bestCount = 0;
  for (const period of PERIODS) {
    let count = 0;
    for (let i = 1; i <= n; i++) if (keeps[period](i)) count++;
    if (count > bestCount) [best, bestCount] = [period, count];
  }
  if (best === null || bestCount < REGULAR_SHARE * n || !keeps[best](n)) {
    return { problem: `its times keep no daily, weekly, monthly or yearly period (${JSON.stringify(cells[n - 1])}, ${JSON.stringify(cells[n])} are its last two)` };
  }
  const times = Array.from({ length: count }, (_, k) => {
    if (best === 'daily' || best === 'weekly') return isoDate(fromDayNumber(days[n] + (k + 1) * (best === 'daily' ? 1 : 7)));
    const m = months[n] + (k + 1) * (best === 'monthly' ? 1 : 12);
    return isoDate({ year: Math.floor(m / 12), month: m % 12, day: last.day });
  });
  return { times };
}

const PERIODS = ['daily', 'weekly', 'monthly', 'yearly'] as const;
type Period = (typeof PERIODS)[number];
/** The share of a series' steps that must keep its period, the last step among them. */
const REGULAR_SHARE = 0.9;

interface CalendarDate {
  year: number;
  /** 0-based. */
  month: number;
  day: number;
}

/** The calendar date of a cell: ISO dates as written (UTC), other date texts as Date.parse reads them (local time). */
function calendarDate(cell: string): CalendarDate | null {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(cell.trim());
  if (iso) return { year: Number(iso[1]), month: Number(iso[2]) - 1, day: Number(iso[3]) };
  const ms = Date.parse(cell);
  if (!Number.isFinite(ms)) return null;
  const d = new Date(ms);
  return { year: d.getFullYear(), month: d.getMonth(), day: d.getDate() };
}

const DAY_MS = 86_400_000;

function dayNumber(d: CalendarDate): number {
  return Math.round(Date.UTC(d.year, d.month, d.day) / DAY_MS);
}

function fromDayNumber(n: number): CalendarDate {
  const d = new Date(n * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate() };
}

/** `YYYY-MM-DD`; a day past the month's end (the 31st of a 30-day month) is that month's last day. */
function isoDate(d: CalendarDate): string {
  const lastDay = new Date(Date.UTC(d.year, d.month + 1, 0)).getUTCDate();
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  return `${pad(d.year, 4)}-${pad(d.month + 1, 2)}-${pad(Math.min(d.day, lastDay), 2)}`;
}

/** A numeric time without float noise from repeated addition (0.1 + 0.2). */
function formatStep(v: number): string {
  return String(Number(v.toPrecision(12)));
}
