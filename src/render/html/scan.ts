/**
 * A tokenizer for letter HTML that reports offsets instead of building a DOM.
 *
 * The renderer splices the author's source text at these offsets, so the
 * output keeps every byte a DOM round trip would change: conditional
 * comments (including the downlevel-revealed `<![if !mso]>` form), entities,
 * attribute quoting and whitespace. The content of an Outlook conditional
 * comment (`<!--[if mso]> ... <![endif]-->`) is scanned as markup, because
 * Outlook renders it and its links (VML `href` included) need rewriting.
 */

/** One attribute of a start tag; offsets index the scanned text. */
export interface Attribute {
  /** Lowercased name. */
  name: string;
  nameStart: number;
  /** Value range without the quotes; both equal the end of the name when there is no value. */
  valueStart: number;
  valueEnd: number;
  quote: '"' | "'" | "";
  hasValue: boolean;
}

/** A start tag from `<` to just past `>`. */
export interface StartTag {
  /** Lowercased name, with any namespace prefix (`v:roundrect`). */
  name: string;
  start: number;
  end: number;
  attributes: Attribute[];
  /** True inside an `<!--[if ...]> ... <![endif]-->` comment. */
  conditional: boolean;
}

/**
 * A range that is not plain text: a tag, a comment, the raw content of
 * `<script>`/`<style>`, or other markup (end tags, declarations, the markers
 * of conditional comments).
 */
export interface Region {
  kind: "tag" | "comment" | "raw" | "markup";
  start: number;
  end: number;
  /** Set for `tag` regions. */
  tag?: StartTag;
}

export interface ScanResult {
  /** Regions in document order; everything between them is text. */
  regions: Region[];
  tags: StartTag[];
  /** Offset of `<body ...>`'s `>` plus one, or -1. */
  bodyOpenEnd: number;
  /** Offset of the last `</body`, or -1. */
  bodyClose: number;
}

/** Elements whose content is raw text: no tags inside, ended only by their end tag. */
const RAW_TEXT = new Set(["script", "style", "xmp", "iframe", "noembed", "noframes"]);
/** Elements whose content is text without tags (entities still apply). */
const RCDATA = new Set(["title", "textarea"]);

const CONDITIONAL_OPEN = /^\[if\s[^\]]*\]>/i;

/** Scans `text`; see the module comment for what is reported. */
export function scanHtml(text: string): ScanResult {
  const result: ScanResult = { regions: [], tags: [], bodyOpenEnd: -1, bodyClose: -1 };
  scanRange(text, 0, text.length, false, result);
  return result;
}

function scanRange(
  text: string,
  from: number,
  to: number,
  conditional: boolean,
  out: ScanResult,
): void {
  let i = from;

  while (i < to) {
    const lt = text.indexOf("<", i);
    if (lt < 0 || lt >= to) break;

    const next = text.charCodeAt(lt + 1);
    if (text.startsWith("<!--", lt)) {
      i = scanComment(text, lt, to, out);
    } else if (next === 0x21 /* ! */ || next === 0x3f /* ? */) {
      i = endOfMarkup(text, lt, to);
      out.regions.push({ kind: "markup", start: lt, end: i });
    } else if (next === 0x2f /* / */ && isAsciiLetter(text.charCodeAt(lt + 2))) {
      i = endOfMarkup(text, lt, to);
      out.regions.push({ kind: "markup", start: lt, end: i });
      if (!conditional && /^<\/body[\s/>]/i.test(text.slice(lt, lt + 7))) out.bodyClose = lt;
    } else if (isAsciiLetter(next)) {
      i = scanStartTag(text, lt, to, conditional, out);
    } else {
      i = lt + 1;
    }
  }
}

/** Comments; the content of a conditional comment is scanned as markup. */
function scanComment(text: string, lt: number, to: number, out: ScanResult): number {
  // `<!-->` and `<!--->` are complete (empty) comments in HTML.
  if (text.startsWith("<!-->", lt)) return pushComment(out, lt, lt + 5);
  if (text.startsWith("<!--->", lt)) return pushComment(out, lt, lt + 6);

  const close = text.indexOf("-->", lt + 4);
  const end = close < 0 || close >= to ? to : close + 3;
  const bodyEnd = close < 0 || close >= to ? to : close;

  const open = CONDITIONAL_OPEN.exec(text.slice(lt + 4, Math.min(bodyEnd, lt + 200)));
  const innerStart = open ? lt + 4 + open[0].length : -1;
  const innerEnd = open ? text.lastIndexOf("<![endif]", bodyEnd) : -1;

  if (!open || innerEnd < innerStart) return pushComment(out, lt, end);

  out.regions.push({ kind: "markup", start: lt, end: innerStart });
  scanRange(text, innerStart, innerEnd, true, out);
  out.regions.push({ kind: "markup", start: innerEnd, end });
  return end;
}

function pushComment(out: ScanResult, start: number, end: number): number {
  out.regions.push({ kind: "comment", start, end });
  return end;
}

/** End of `<!...>`, `<?...>` or `</...>`: just past the next `>`. */
function endOfMarkup(text: string, lt: number, to: number): number {
  const gt = text.indexOf(">", lt + 1);
  return gt < 0 || gt >= to ? to : gt + 1;
}

/** Scans a start tag and its attributes, following the HTML tokenizer's rules for names and values. */
function scanStartTag(
  text: string,
  lt: number,
  to: number,
  conditional: boolean,
  out: ScanResult,
): number {
  let i = lt + 1;
  while (i < to && !isTagNameEnd(text.charCodeAt(i))) i++;
  const name = text.slice(lt + 1, i).toLowerCase();
  const attributes: Attribute[] = [];

  for (;;) {
    while (i < to && (isSpace(text.charCodeAt(i)) || text.charCodeAt(i) === 0x2f)) i++;
    if (i >= to) break;
    if (text.charCodeAt(i) === 0x3e /* > */) {
      i++;
      break;
    }
    i = scanAttribute(text, i, to, attributes);
  }

  const tag: StartTag = { name, start: lt, end: i, attributes, conditional };
  out.tags.push(tag);
  out.regions.push({ kind: "tag", start: lt, end: i, tag });
  if (name === "body" && out.bodyOpenEnd < 0 && !conditional) out.bodyOpenEnd = i;

  if (RAW_TEXT.has(name) || RCDATA.has(name)) return skipTextContent(text, i, to, name, out);
  return i;
}

function scanAttribute(text: string, from: number, to: number, attributes: Attribute[]): number {
  let i = from;
  // The first character may be `=`; after that, `=` ends the name.
  i++;
  while (i < to) {
    const code = text.charCodeAt(i);
    if (isSpace(code) || code === 0x2f || code === 0x3e || code === 0x3d) break;
    i++;
  }
  const name = text.slice(from, i).toLowerCase();
  const nameEnd = i;

  let j = i;
  while (j < to && isSpace(text.charCodeAt(j))) j++;
  if (text.charCodeAt(j) !== 0x3d /* = */) {
    attributes.push({
      name,
      nameStart: from,
      valueStart: nameEnd,
      valueEnd: nameEnd,
      quote: "",
      hasValue: false,
    });
    return i;
  }

  j++;
  while (j < to && isSpace(text.charCodeAt(j))) j++;
  const quote = text[j];
  if (quote === '"' || quote === "'") {
    const close = text.indexOf(quote, j + 1);
    const valueEnd = close < 0 || close >= to ? to : close;
    attributes.push({ name, nameStart: from, valueStart: j + 1, valueEnd, quote, hasValue: true });
    return Math.min(valueEnd + 1, to);
  }

  let k = j;
  while (k < to && !isSpace(text.charCodeAt(k)) && text.charCodeAt(k) !== 0x3e) k++;
  attributes.push({ name, nameStart: from, valueStart: j, valueEnd: k, quote: "", hasValue: true });
  return k;
}

/** Skips the content of a raw-text or RCDATA element up to its end tag. */
function skipTextContent(
  text: string,
  from: number,
  to: number,
  name: string,
  out: ScanResult,
): number {
  const pattern = new RegExp(`</${name}[\\s/>]`, "ig");
  pattern.lastIndex = from;
  const match = pattern.exec(text);
  const close = match && match.index < to ? match.index : to;

  // RCDATA content is text for token purposes (a token in <title> is HTML-escaped).
  if (RAW_TEXT.has(name) && close > from)
    out.regions.push({ kind: "raw", start: from, end: close });
  return close;
}

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

function isTagNameEnd(code: number): boolean {
  return isSpace(code) || code === 0x2f || code === 0x3e;
}

/** Returns the first attribute with this name, the one HTML uses. */
export function findAttribute(tag: StartTag, name: string): Attribute | undefined {
  return tag.attributes.find((attribute) => attribute.name === name);
}
