import { MimeError } from "./error";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/**
 * Formats a date as an RFC 5322 date-time in UTC, e.g. `Thu, 04 Dec 2025 15:56:07 +0000`.
 * Raises MimeError for an invalid Date, for a year before 1900, which RFC 5322 section 3.3
 * forbids, and for a year after 9999.
 */
export function formatDate(date: Date, field = "date"): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new MimeError(field, `expected a valid Date, got ${String(date)}`);
  }
  const year = date.getUTCFullYear();
  if (year < 1900 || year > 9999) {
    throw new MimeError(field, `year ${year} is outside 1900 to 9999`);
  }

  const day = DAY_NAMES[date.getUTCDay()];
  const dayOfMonth = pad(date.getUTCDate());
  const month = MONTH_NAMES[date.getUTCMonth()];
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${day}, ${dayOfMonth} ${month} ${year} ${time} +0000`;
}

function pad(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}
