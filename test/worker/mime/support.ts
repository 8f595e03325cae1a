import type { MimeMessage } from "../../../src/mime";

/** Returns a valid message with the given fields replaced. */
export function sampleMessage(overrides: Partial<MimeMessage> = {}): MimeMessage {
  return {
    from: { name: "Trickle News", email: "news@example.org" },
    to: { name: "Jane Doe", email: "jane@example.org" },
    subject: "Weekly digest",
    messageId: "d42.m7@example.org",
    date: new Date(Date.UTC(2025, 11, 4, 15, 56, 7)),
    html: "<p>Hello Jane</p>\n",
    text: "Hello Jane\n",
    headers: [["List-Unsubscribe", "<https://t.example.net/u/abc>"]],
    ...overrides,
  };
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that stress the encoders: specials, whitespace, 2-, 3- and 4-byte UTF-8. */
const ALPHABET = [
  ..."aZ09 =?_.,;:\"'\\<>@()[]!*+-/\t",
  "é",
  "Ø",
  "ß",
  "€",
  "日",
  "本",
  "🎉",
  "😀",
  "👩‍💻",
];

/** Returns a random string of up to `maxLength` characters from a stressful alphabet. */
export function randomText(random: () => number, maxLength: number): string {
  const length = Math.floor(random() * (maxLength + 1));
  let text = "";
  for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return text;
}

/** Returns the unfolded value of the only field called `name` in a header section. */
export function onlyField(fields: Array<{ name: string; value: string }>, name: string): string {
  const matches = fields.filter((field) => field.name.toLowerCase() === name.toLowerCase());
  if (matches.length !== 1) throw new Error(`expected one ${name} field, found ${matches.length}`);
  return matches[0].value;
}
