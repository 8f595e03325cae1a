/**
 * State shared while compiling one letter: the token table, the numbered
 * links and the analytics switches.
 */
import { escapeFor, type Escape } from "../escape";
import { isTrackableDestination } from "../links/origin";
import { utmPairs, type UrlPiece, type UtmPair } from "../links/utm";
import type { Part } from "../plan";
import type { TokenExpr } from "../tokens/syntax";
import { evaluateToken } from "../tokens/values";
import type { AnalyticsSettings, CompiledLink } from "../types";

const NO_RECIPIENT = { id: 0, email: "", firstName: "", lastName: "", attributes: {}, listIds: [] };

export class CompileContext {
  readonly tokens: TokenExpr[] = [];
  readonly links: CompiledLink[] = [];
  readonly utm: UtmPair[];
  readonly trackClicks: boolean;
  readonly trackOpens: boolean;
  private readonly tokenIds = new Map<string, number>();

  constructor(
    settings: AnalyticsSettings,
    readonly mailingName: string,
  ) {
    this.utm = utmPairs(settings.utm);
    this.trackClicks = settings.trackClicks === true;
    this.trackOpens = settings.trackOpens === true;
  }

  /** Index of the token in the table; equal tokens share one index and one value per render. */
  tokenId(expr: TokenExpr): number {
    let id = this.tokenIds.get(expr.key);
    if (id === undefined) {
      id = this.tokens.length;
      this.tokens.push(expr);
      this.tokenIds.set(expr.key, id);
    }
    return id;
  }

  /**
   * Returns the parts of a token's value for a slot. A `{{ mailing.name }}` token is the same
   * for every recipient, so it is evaluated and escaped once, here.
   */
  valueParts(expr: TokenExpr, escape: Escape): Part[] {
    const constant = this.constantValue(expr);
    if (constant !== null) return [escapeFor(escape, constant)];
    return [{ kind: "value", token: this.tokenId(expr), escape }];
  }

  /** Returns the value of a token that does not depend on the recipient, or null. */
  constantValue(expr: TokenExpr): string | null {
    if (expr.source.kind !== "mailing" && expr.source.kind !== "content") return null;
    return evaluateToken(expr, {
      recipient: NO_RECIPIENT,
      urls: null,
      date: new Date(0),
      mailingName: this.mailingName,
    });
  }

  /** Numbers a tracked link in document order. */
  addLink(pieces: UrlPiece[]): number {
    const idx = this.links.length;
    this.links.push({ idx, ...storedLinkUrl(pieces) });
    return idx;
  }
}

/** Returns the URL a link stores, with its tokens written as `{{ key }}`. */
export function storedLinkUrl(pieces: UrlPiece[]): { url: string; hasTokens: boolean } {
  let url = "";
  let hasTokens = false;
  for (const piece of pieces) {
    if (typeof piece === "string") url += piece;
    else {
      url += `{{ ${piece.expr.key} }}`;
      hasTokens = true;
    }
  }
  return { url, hasTokens };
}

/** True for tokens whose value comes from the subscriber alone. */
export function isSubscriberToken(expr: TokenExpr): boolean {
  return expr.source.kind === "field" || expr.source.kind === "attribute";
}

/**
 * Returns whether a tagged URL can go behind the click redirect: it has a
 * fixed host (`hasFixedHost`) and its stored URL passes the click route's
 * own check (`isTrackableDestination`).
 */
export function isTrackable(pieces: UrlPiece[]): boolean {
  if (!hasFixedHost(pieces)) return false;

  const { url, hasTokens } = storedLinkUrl(pieces);
  return isTrackableDestination(url, hasTokens);
}

/**
 * Returns whether a URL has a fixed host but fails the click route's check,
 * such as `https://good.example.com%2F@evil.example.net`. Such a link is
 * neither tagged nor tracked, and validation warns about it.
 */
export function isRejectedDestination(pieces: UrlPiece[]): boolean {
  return hasFixedHost(pieces) && !isTrackable(pieces);
}

/**
 * Returns whether a URL's scheme and host are literal text, so subscriber
 * data never picks where the redirect leads, and whether its tokens are
 * subscriber values, because `resolveLinkUrl` has only the recipient (no
 * recipient URLs, no send date).
 */
export function hasFixedHost(pieces: UrlPiece[]): boolean {
  const first = pieces[0];
  if (typeof first !== "string") return false;
  if (pieces.length > 1 && !/^https?:\/\/[^/?#]+[/?#]/i.test(first)) return false;
  return pieces.every((piece) => typeof piece === "string" || isSubscriberToken(piece.expr));
}
