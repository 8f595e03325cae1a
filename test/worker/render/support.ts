/** Letters, recipients and URLs for the letter engine tests. */
import {
  compileLetter,
  renderMessage,
  type CompiledLetter,
  type LetterSource,
  type Recipient,
  type RecipientUrls,
  type RenderContext,
} from "../../../src/render";

/** Tracking host of the tests. */
export const T = "https://t.example.net";
/** The UTM pairs the tests expect for `UTM_SETTINGS`. */
export const U = "utm_source=newsletter&utm_medium=email&utm_campaign=spring";
export const UTM_SETTINGS = { source: "newsletter", medium: "email", campaign: "spring" };

export const JANE: Recipient = {
  id: 101,
  email: "jane.doe@example.com",
  firstName: "Jane",
  lastName: "Doe",
  attributes: { city: "Berlin", plan: "pro", signup_date: "2024-02-01" },
  listIds: [3],
};

export const JOHN: Recipient = {
  id: 102,
  email: "john.roe@example.com",
  firstName: "John",
  lastName: "Roe",
  attributes: { city: "Paris", plan: "free", signup_date: "2023-07-19" },
  listIds: [4],
};

/** Returns Jane with the given fields and attributes replaced. */
export function recipient(overrides: Partial<Recipient> = {}): Recipient {
  return { ...JANE, ...overrides, attributes: { ...(overrides.attributes ?? JANE.attributes) } };
}

/** Signed-looking URLs that name the recipient, so a test can see whose URL it got. */
export function urlsFor(subscriber: Recipient): RecipientUrls {
  return {
    click: (idx: number) => `${T}/c/${subscriber.id}-${idx}`,
    open: `${T}/o/${subscriber.id}`,
    unsubscribe: `${T}/u/${subscriber.id}`,
    web: `${T}/v/${subscriber.id}`,
  };
}

export function contextFor(subscriber: Recipient): RenderContext {
  return {
    urls: urlsFor(subscriber),
    unsubscribeMailto: `mailto:unsubscribe@example.com?subject=unsubscribe-${subscriber.id}`,
    messageId: `d${subscriber.id}.m7@trickle.example.net`,
    listId: "Spring news <list-3.trickle.example.net>",
    date: new Date("2026-03-14T09:30:00Z"),
  };
}

/** Returns a letter around `layout`, with tracking and UTM off unless `overrides` sets `settings`. */
export function letter(layout: string, overrides: Partial<LetterSource> = {}): LetterSource {
  return {
    subject: "Spring news",
    preheader: "",
    fromName: "Trickle Shop",
    fromEmail: "news@example.com",
    replyTo: null,
    layout,
    blocks: [],
    textBody: null,
    settings: { trackClicks: false, trackOpens: false, utm: null },
    ...overrides,
  };
}

export type Switches = { trackClicks?: boolean; trackOpens?: boolean; utm?: boolean };

/** Settings from on/off switches; UTM uses `UTM_SETTINGS`. */
export function settings(switches: Switches): LetterSource["settings"] {
  return {
    trackClicks: switches.trackClicks ?? false,
    trackOpens: switches.trackOpens ?? false,
    utm: switches.utm ? UTM_SETTINGS : null,
  };
}

/** Compiles `layout` as a whole letter with the switches. */
export function compile(
  layout: string,
  switches: Switches = {},
  overrides: Partial<LetterSource> = {},
): CompiledLetter {
  return compileLetter(letter(layout, { settings: settings(switches), ...overrides }), {
    mailingName: "Spring sale",
  });
}

/** Compiles and renders for one recipient. */
export function render(
  layout: string,
  switches: Switches = {},
  subscriber: Recipient = JANE,
  overrides: Partial<LetterSource> = {},
) {
  const compiled = compile(layout, switches, overrides);
  return { compiled, ...renderMessage(compiled, subscriber, contextFor(subscriber)) };
}

/** Returns the raw href values of `<a>` tags, in order. */
export function hrefs(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*?\bhref="([^"]*)"/g)].map((match) => match[1]);
}

/** Wraps body HTML in a minimal document. */
export function page(body: string): string {
  return `<!DOCTYPE html>\n<html><head><title>Test</title></head><body>\n${body}\n</body></html>\n`;
}
