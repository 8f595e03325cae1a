import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import { buildMessage, encodeHeaderText } from "../../../src/mime";
import { decodeEncodedWord, decodeUnstructured, splitMessage, unfold } from "./strict-decoder";
import { onlyField, randomText, sampleMessage, seededRandom } from "./support";

const LONG_EMOJI_SUBJECT = "🎉 News for Jane: " + "Ünïcödé 😀 ".repeat(25);

/** Returns the physical Subject lines of a built message. */
function subjectLines(raw: string): string[] {
  const { headerLines } = splitMessage(raw);
  const start = headerLines.findIndex((line) => line.startsWith("Subject:"));
  let end = start + 1;
  while (end < headerLines.length && /^[ \t]/.test(headerLines[end])) end++;
  return headerLines.slice(start, end);
}

function encodedWords(text: string): string[] {
  return text.match(/=\?[^?\s]*\?[QqBb]\?[^?\s]*\?=/g) ?? [];
}

describe("encodeHeaderText", () => {
  it("encodes the long emoji subject in words of at most 75", () => {
    const folded = encodeHeaderText(LONG_EMOJI_SUBJECT);
    const words = encodedWords(folded);

    expect(words.length).toBeGreaterThan(1);
    for (const word of words) {
      expect(word.length).toBeLessThanOrEqual(75);
      expect(() => decodeEncodedWord(word)).not.toThrow();
    }
  });

  it("decodes the long emoji subject exactly", () => {
    const decoded = decodeUnstructured(unfold(encodeHeaderText(LONG_EMOJI_SUBJECT)));

    expect(decoded).toBe(LONG_EMOJI_SUBJECT);
  });

  it("folds the long emoji subject at 78", () => {
    const lines = subjectLines(buildMessage(sampleMessage({ subject: LONG_EMOJI_SUBJECT })));

    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
  });

  it("keeps code points whole in every word", () => {
    // Each word is decoded alone with a fatal UTF-8 decoder, which throws on a split
    // sequence. So the decoded words must join to give the subject.
    const words = encodedWords(encodeHeaderText(LONG_EMOJI_SUBJECT));
    const joined = words.map((word) => decodeEncodedWord(word)).join("");

    expect(joined).toBe(LONG_EMOJI_SUBJECT);
    expect(joined).not.toContain("\uFFFD");
  });

  it("sends an ASCII subject as is", () => {
    const raw = buildMessage(sampleMessage({ subject: "Weekly digest" }));

    expect(encodeHeaderText("Weekly digest")).toBe("Weekly digest");
    expect(subjectLines(raw)).toEqual(["Subject: Weekly digest"]);
  });

  it("folds a long ASCII subject without encoding", () => {
    const subject = "The weekly digest of everything that happened in the garden club "
      .repeat(5)
      .trim();
    const lines = subjectLines(buildMessage(sampleMessage({ subject })));

    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    expect(lines.join("\r\n")).not.toContain("=?");
    expect(lines.join("").slice("Subject: ".length)).toBe(subject);
  });

  it("renders an empty subject as an empty field", () => {
    expect(subjectLines(buildMessage(sampleMessage({ subject: "" })))).toEqual(["Subject:"]);
  });

  it("keeps a leading byte order mark", () => {
    // postal-mime drops a leading U+FEFF when it decodes, so only the strict decoder checks it.
    expect(decodeUnstructured(unfold(encodeHeaderText("\uFEFFHello")))).toBe("\uFEFFHello");
  });

  it("uses the header name to size the first line", () => {
    const folded = encodeHeaderText(LONG_EMOJI_SUBJECT, "X-Long-Header-Name-For-Testing");
    const firstLine = `X-Long-Header-Name-For-Testing: ${folded.split("\r\n")[0]}`;

    expect(firstLine.length).toBeLessThanOrEqual(78);
    expect(decodeUnstructured(unfold(folded))).toBe(LONG_EMOJI_SUBJECT);
  });
});

describe.each([
  ["accented Latin (Q)", "Café au lait for Zoë"],
  ["long accented Latin (Q)", "Crème brûlée à la carte, s'il vous plaît. ".repeat(6)],
  ["CJK (B)", "日本語のニュースレター".repeat(8)],
  ["text that looks encoded", "=?UTF-8?B?QmNjOg==?= is not a word"],
  ["a word of 100 ASCII letters", `News ${"x".repeat(100)} today`],
  ["leading and trailing spaces", "  padded  "],
  ["repeated spaces", "two  spaces"],
  ["a tab", "tab\there"],
  ["underscores and question marks", "what_is = this? _ok_"],
  ["a ZWJ emoji sequence", "👩‍💻 ships 🎉🎉🎉 ".repeat(10)],
  ["a Q encoding boundary", `${"é".repeat(20)}${"a".repeat(30)}`],
])("encodeHeaderText with %s", (_label, subject) => {
  it("round-trips through the strict decoder", () => {
    const folded = encodeHeaderText(subject);

    expect(decodeUnstructured(unfold(folded))).toBe(subject);
  });

  it("keeps words and lines within limits", () => {
    const lines = subjectLines(buildMessage(sampleMessage({ subject })));

    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    for (const word of encodedWords(lines.join(""))) expect(word.length).toBeLessThanOrEqual(75);
  });

  it("round-trips through postal-mime", async () => {
    const parsed = await PostalMime.parse(buildMessage(sampleMessage({ subject })));

    expect(parsed.subject).toBe(subject);
  });
});

describe("encodeHeaderText on random text", () => {
  it("round-trips 500 random subjects", () => {
    const random = seededRandom(20251204);

    for (let i = 0; i < 500; i++) {
      const subject = randomText(random, 160);
      const raw = buildMessage(sampleMessage({ subject }));
      const { fields } = splitMessage(raw);
      const lines = subjectLines(raw);

      for (const line of lines)
        expect(line.length, JSON.stringify(subject)).toBeLessThanOrEqual(78);
      expect(decodeUnstructured(onlyField(fields, "Subject")), JSON.stringify(subject)).toBe(
        subject.replace(/[\x00-\x08\x0A-\x1F\x7F]+/g, " "),
      );
    }
  });
});
