/**
 * ISO date parsing and strftime-style formatting for the `date` filter and
 * date conditions. Every date is read and written in UTC so a message does
 * not depend on the time zone of the machine that renders it.
 */

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const DIRECTIVES = "YymdeBbAaHIpMSj%";

/** Returns a message naming the first unsupported `%` directive, or null when the format is valid. */
export function checkDateFormat(format: string): string | null {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== "%") continue;

    let directive = format[++i];
    if (directive === "-") directive = format[++i];
    if (directive === undefined || !DIRECTIVES.includes(directive)) {
      return `The date format "${format}" uses %${directive ?? ""}, which is not supported; use %Y %y %m %d %e %B %b %A %a %H %I %p %M %S %j or %%.`;
    }
  }
  return null;
}

/**
 * Parses `YYYY-MM-DD` (midnight UTC) or a full ISO 8601 date-time. Returns
 * null for anything else, including impossible dates such as 2025-02-30.
 */
export function parseIsoDate(value: string): Date | null {
  const text = value.trim();
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (dateOnly) {
    const [year, month, day] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    const valid =
      date.getUTCFullYear() === year &&
      date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day;
    return valid ? date : null;
  }

  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text))
    return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : new Date(time);
}

/** Formats a date with strftime directives (checked by `checkDateFormat`), in UTC, in English. */
export function formatDate(date: Date, format: string): string {
  let out = "";

  for (let i = 0; i < format.length; i++) {
    const char = format[i];
    if (char !== "%") {
      out += char;
      continue;
    }

    let directive = format[++i];
    const unpadded = directive === "-";
    if (unpadded) directive = format[++i];
    out += formatDirective(date, directive, unpadded);
  }
  return out;
}

function formatDirective(date: Date, directive: string, unpadded: boolean): string {
  const pad = (value: number, width = 2) =>
    unpadded ? String(value) : String(value).padStart(width, "0");
  const hours = date.getUTCHours();

  switch (directive) {
    case "Y":
      return String(date.getUTCFullYear());
    case "y":
      return pad(date.getUTCFullYear() % 100);
    case "m":
      return pad(date.getUTCMonth() + 1);
    case "d":
      return pad(date.getUTCDate());
    case "e":
      return String(date.getUTCDate()).padStart(unpadded ? 0 : 2, " ");
    case "B":
      return MONTHS[date.getUTCMonth()];
    case "b":
      return MONTHS[date.getUTCMonth()].slice(0, 3);
    case "A":
      return WEEKDAYS[date.getUTCDay()];
    case "a":
      return WEEKDAYS[date.getUTCDay()].slice(0, 3);
    case "H":
      return pad(hours);
    case "I":
      return pad(hours % 12 === 0 ? 12 : hours % 12);
    case "p":
      return hours < 12 ? "AM" : "PM";
    case "M":
      return pad(date.getUTCMinutes());
    case "S":
      return pad(date.getUTCSeconds());
    case "j":
      return pad(dayOfYear(date), 3);
    default:
      return "%";
  }
}

function dayOfYear(date: Date): number {
  const start = Date.UTC(date.getUTCFullYear(), 0, 1);
  return Math.floor((date.getTime() - start) / 86_400_000) + 1;
}
