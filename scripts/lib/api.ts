/**
 * A small typed client for Trickle's JSON API under /api, for the scripts
 * that drive a local Worker (`npm start`, the demo, the benchmarks). Only the
 * fields those scripts read are typed, and the responses contain more.
 */

/** A response with a status other than the expected one, with its body. */
export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path} returned ${status}: ${body.slice(0, 2000)}`);
    this.name = "ApiError";
  }
}

export interface List {
  id: number;
  name: string;
}

/** Result of a CSV import, as POST /api/lists/:id/import returns it. */
export interface ImportResult {
  imported: number;
  created: number;
  updated: number;
  invalid: { line: number; value: string; reason: string }[];
  duplicates: { line: number; email: string; firstLine: number }[];
  suppressed: number;
}

export interface LetterInput {
  name: string;
  subject: string;
  preheader?: string;
  fromName: string;
  fromEmail: string;
  replyTo?: string | null;
  /** Full HTML document. A `{{ content }}` slot is optional. */
  layout: string;
  blocks?: { id: string; html: string; condition?: unknown }[];
  textBody?: string | null;
  settings: {
    trackClicks: boolean;
    trackOpens: boolean;
    utm: { source?: string; medium?: string; campaign?: string } | null;
  };
}

/** A finding of the letter check. An `error` finding blocks starting a mailing. */
export interface LetterIssue {
  severity: "error" | "warning" | string;
  message: string;
  line?: number;
  text?: string;
}

export interface Letter {
  id: number;
  name: string;
  subject: string;
}

export interface MailingInput {
  name: string;
  letterId: number;
  listId: number;
  /** ISO 8601 time or Unix ms. Absent means now. */
  startAt?: string | number;
  ratePerMinute?: number | null;
  windowMinutes?: number | null;
}

export interface Mailing {
  id: number;
  name: string;
  status: string;
  total: number;
  letterId: number;
  listId: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Deliveries of a mailing in each state. */
export interface DeliveryCounts {
  pending: number;
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  uncertain: number;
  skipped: number;
}

export interface HitCounts {
  total: number;
  unique: number;
}

/** The fields of GET /api/mailings/:id/stats that the scripts read. */
export interface MailingStats {
  mailingId: number;
  status: string;
  deliveries: DeliveryCounts & { total: number };
  /** Opens, including those implied by a click. `implied` counts those among human opens. */
  opens: { human: HitCounts; machine: HitCounts; implied: number };
  clicks: { human: HitCounts; machine: HitCounts };
  /** Subscribers unsubscribed through this mailing's link. */
  unsubscribes: number;
}

/** Client for one Worker. Every call sends `Authorization: Bearer <token>`. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async listLists(): Promise<List[]> {
    return (await this.request<{ lists: List[] }>("GET", "/api/lists")).lists;
  }

  async createList(name: string): Promise<List> {
    return (await this.request<{ list: List }>("POST", "/api/lists", { json: { name } }, 201)).list;
  }

  /** Imports CSV text into a list, sent as the raw body with Content-Type text/csv. */
  async importCsv(listId: number, csv: string | Uint8Array): Promise<ImportResult> {
    return this.request<ImportResult>("POST", `/api/lists/${listId}/import`, {
      body: csv,
      contentType: "text/csv",
    });
  }

  async listLetters(): Promise<Letter[]> {
    return (await this.request<{ letters: Letter[] }>("GET", "/api/letters")).letters;
  }

  async createLetter(input: LetterInput): Promise<{ letter: Letter; issues: LetterIssue[] }> {
    return this.request("POST", "/api/letters", { json: input }, 201);
  }

  async listMailings(): Promise<Mailing[]> {
    return (await this.request<{ mailings: Mailing[] }>("GET", "/api/mailings")).mailings;
  }

  async createMailing(input: MailingInput): Promise<Mailing> {
    const path = "/api/mailings";
    return (await this.request<{ mailing: Mailing }>("POST", path, { json: input }, 201)).mailing;
  }

  /** Starts a draft. The API returns 422 when its letter has errors. */
  async startMailing(id: number): Promise<{ id: number; status: string; total: number }> {
    const path = `/api/mailings/${id}/start`;
    return (await this.request<{ mailing: Mailing }>("POST", path)).mailing;
  }

  async getMailing(id: number): Promise<{ mailing: Mailing; counts: DeliveryCounts }> {
    return this.request("GET", `/api/mailings/${id}`);
  }

  async mailingStats(id: number): Promise<MailingStats> {
    const response = await this.request<MailingStats | { stats: MailingStats }>(
      "GET",
      `/api/mailings/${id}/stats`,
    );
    return "stats" in response ? response.stats : response;
  }

  /** Sends one request and throws ApiError unless the status is `expected`. */
  async request<T>(
    method: string,
    path: string,
    payload: { json?: unknown; body?: string | Uint8Array; contentType?: string } = {},
    expected = 200,
  ): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let body: BodyInit | undefined =
      typeof payload.body === "string" || payload.body === undefined
        ? payload.body
        : new Blob([payload.body as Uint8Array<ArrayBuffer>]);
    if (payload.json !== undefined) {
      body = JSON.stringify(payload.json);
      headers["content-type"] = "application/json";
    } else if (payload.contentType) {
      headers["content-type"] = payload.contentType;
    }

    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (response.status !== expected) throw new ApiError(method, path, response.status, text);
    return JSON.parse(text) as T;
  }
}
