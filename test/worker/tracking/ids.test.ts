import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/env";
import { loadLinkKeys, MAX_ID_LENGTH, signRecipient, verifyId } from "../../../src/tracking/ids";
import { recipientUrls } from "../../../src/tracking/urls";

const SECRET = "1:test-link-secret-0123456789abcdef";
const OLD_SECRET = "7:an-older-link-secret-fedcba9876543210";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Replaces the character at `index` with a different base64url character. */
function changeCharacter(id: string, index: number): string {
  const current = BASE64URL.indexOf(id[index]);
  const replacement = BASE64URL[(current + 1) % 64];
  return id.slice(0, index) + replacement + id.slice(index + 1);
}

function decode(id: string): Uint8Array {
  const base64 = id.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

function encode(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("tracking ids: happy path", () => {
  it.each([
    { mailingId: 1, subscriberId: 1 },
    { mailingId: 42, subscriberId: 1234 },
    { mailingId: 500, subscriberId: 150_000 },
    { mailingId: 2 ** 40, subscriberId: 2 ** 52 },
  ])("round-trips mailing $mailingId, subscriber $subscriberId", async (ids) => {
    const keys = await loadLinkKeys(SECRET, "");
    const signed = await signRecipient(keys, ids.mailingId, ids.subscriberId);

    expect(await verifyId(keys, signed.click(0))).toEqual({ ...ids, linkIdx: 0, kind: "click" });
    expect(await verifyId(keys, signed.click(117))).toEqual({
      ...ids,
      linkIdx: 117,
      kind: "click",
    });
    expect(await verifyId(keys, signed.open())).toEqual({ ...ids, linkIdx: null, kind: "open" });
    expect(await verifyId(keys, signed.unsubscribe())).toEqual({
      ...ids,
      linkIdx: null,
      kind: "unsubscribe",
    });
    expect(await verifyId(keys, signed.web())).toEqual({ ...ids, linkIdx: null, kind: "web" });
  });

  it.each([
    { mailingId: 42, subscriberId: 1234, linkIdx: 3, length: 18 },
    { mailingId: 500, subscriberId: 150_000, linkIdx: 3, length: 20 },
    { mailingId: 20_000, subscriberId: 3_000_000, linkIdx: 3, length: 23 },
  ])("keeps ids short ($length characters)", async (row) => {
    const keys = await loadLinkKeys(SECRET, "");
    const signed = await signRecipient(keys, row.mailingId, row.subscriberId);

    expect(signed.click(row.linkIdx)).toHaveLength(row.length);
    expect(signed.click(row.linkIdx)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("uses a bare secret as key id 1", async () => {
    const bare = await loadLinkKeys("test-link-secret-0123456789abcdef", "");
    const prefixed = await loadLinkKeys(SECRET, "");

    const id = (await signRecipient(bare, 5, 6)).open();

    expect(bare.current.id).toBe(1);
    expect(await verifyId(prefixed, id)).toEqual({
      mailingId: 5,
      subscriberId: 6,
      linkIdx: null,
      kind: "open",
    });
  });

  it("builds absolute URLs under PUBLIC_URL", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const ids = await signRecipient(keys, 3, 4);

    const urls = recipientUrls("https://t.example.net/", ids);

    expect(urls.click(2)).toBe(`https://t.example.net/c/${ids.click(2)}`);
    expect(urls.open).toBe(`https://t.example.net/o/${ids.open()}`);
    expect(urls.unsubscribe).toBe(`https://t.example.net/u/${ids.unsubscribe()}`);
    expect(urls.web).toBe(`https://t.example.net/v/${ids.web()}`);
  });
});

describe("tracking ids: key rotation", () => {
  it("verifies ids of a key listed in LINK_SECRET_PREVIOUS", async () => {
    const oldKeys = await loadLinkKeys(OLD_SECRET, "");
    const id = (await signRecipient(oldKeys, 9, 10)).click(1);

    const rotated = await loadLinkKeys("2:the-new-link-secret-0123456789", OLD_SECRET);

    expect(await verifyId(rotated, id)).toEqual({
      mailingId: 9,
      subscriberId: 10,
      linkIdx: 1,
      kind: "click",
    });
  });

  it("signs new ids with the current key only", async () => {
    const rotated = await loadLinkKeys("2:the-new-link-secret-0123456789", OLD_SECRET);
    const id = (await signRecipient(rotated, 9, 10)).click(1);

    const onlyNew = await loadLinkKeys("2:the-new-link-secret-0123456789", "");

    expect(decode(id)[0]).toBe(2);
    expect(await verifyId(onlyNew, id)).not.toBeNull();
  });

  it("rejects ids of a key that was removed", async () => {
    const oldKeys = await loadLinkKeys(OLD_SECRET, "");
    const id = (await signRecipient(oldKeys, 9, 10)).click(1);

    const withoutOld = await loadLinkKeys("2:the-new-link-secret-0123456789", "");

    expect(await verifyId(withoutOld, id)).toBeNull();
  });

  it("rejects an id moved to another key id", async () => {
    const keys = await loadLinkKeys("2:the-new-link-secret-0123456789", OLD_SECRET);
    const bytes = decode((await signRecipient(keys, 9, 10)).open());
    bytes[0] = 7;

    expect(await verifyId(keys, encode(bytes))).toBeNull();
  });
});

describe("tracking ids: errors", () => {
  it.each([
    { name: "short secret", secret: "1:short", previous: "" },
    { name: "previous without key id", secret: SECRET, previous: "no-key-id-secret-0123456789" },
    {
      name: "previous reusing the current key id",
      secret: SECRET,
      previous: OLD_SECRET.replace("7:", "1:"),
    },
  ])("rejects $name", async ({ secret, previous }) => {
    await expect(loadLinkKeys(secret, previous)).rejects.toBeInstanceOf(ConfigError);
  });

  it("rejects a link index out of range", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const ids = await signRecipient(keys, 1, 1);

    expect(() => ids.click(-1)).toThrow(RangeError);
    expect(() => ids.click(1.5)).toThrow(RangeError);
  });

  it("rejects mailing and subscriber ids that are not positive", async () => {
    const keys = await loadLinkKeys(SECRET, "");

    await expect(signRecipient(keys, 0, 1)).rejects.toThrow(RangeError);
    await expect(signRecipient(keys, 1, -5)).rejects.toThrow(RangeError);
  });
});

describe("tracking ids: security", () => {
  it("rejects every single-character change of an unsubscribe id", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const id = (await signRecipient(keys, 42, 1234)).unsubscribe();

    for (let index = 0; index < id.length; index++) {
      const changed = changeCharacter(id, index);
      expect(await verifyId(keys, changed), `character ${index} changed: ${changed}`).toBeNull();
    }
  });

  // The link index is outside the MAC, so a changed selector may name another
  // link of the same recipient and mailing; every other change is rejected.
  it("lets a changed click id name only another link of the same recipient", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const bytes = decode((await signRecipient(keys, 42, 1234)).click(3));
    const selectorByte = bytes.length - 9;

    for (let index = 0; index < bytes.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Uint8Array.from(bytes);
        flipped[index] ^= 1 << bit;
        const result = await verifyId(keys, encode(flipped));

        if (index !== selectorByte) {
          expect(result, `byte ${index} bit ${bit}`).toBeNull();
        } else if (result !== null) {
          expect(result.kind).toBe("click");
          expect(result.mailingId).toBe(42);
          expect(result.subscriberId).toBe(1234);
          expect(result.linkIdx).not.toBe(3);
        }
      }
    }
  });

  it("rejects every single-bit flip of the id bytes", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const bytes = decode((await signRecipient(keys, 42, 1234)).unsubscribe());

    for (let index = 0; index < bytes.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Uint8Array.from(bytes);
        flipped[index] ^= 1 << bit;
        expect(await verifyId(keys, encode(flipped)), `byte ${index} bit ${bit}`).toBeNull();
      }
    }
  });

  it("rejects Jane's id with John's subscriber id", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const jane = decode((await signRecipient(keys, 42, 1001)).unsubscribe());
    const john = decode((await signRecipient(keys, 42, 1002)).unsubscribe());

    // Both ids are [key id, mailing, subscriber (2 bytes), selector, tag]: take
    // John's subscriber bytes and keep Jane's tag.
    const replayed = Uint8Array.from(jane);
    replayed.set(john.subarray(2, 4), 2);

    expect(encode(replayed)).not.toBe(encode(jane));
    expect(await verifyId(keys, encode(replayed))).toBeNull();
  });

  it("rejects an open id turned into an unsubscribe id", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const open = decode((await signRecipient(keys, 42, 1001)).open());

    // The selector byte sits right before the 8-byte tag; 1 is "unsubscribe".
    const forged = Uint8Array.from(open);
    forged[forged.length - 9] = 1;

    expect(await verifyId(keys, encode(forged))).toBeNull();
  });

  it("rejects ids signed with another secret", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const other = await loadLinkKeys("1:someone-elses-secret-0123456789", "");

    const forged = (await signRecipient(other, 42, 1234)).click(0);

    expect(await verifyId(keys, forged)).toBeNull();
  });

  it("rejects a tag of zeros", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const bytes = decode((await signRecipient(keys, 42, 1234)).click(0));
    bytes.fill(0, bytes.length - 8);

    expect(await verifyId(keys, encode(bytes))).toBeNull();
  });

  it("rejects every truncation of an id", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const id = (await signRecipient(keys, 42, 1234)).click(3);

    for (let length = 0; length < id.length; length++) {
      expect(await verifyId(keys, id.slice(0, length)), `length ${length}`).toBeNull();
    }
  });

  it.each([
    { name: "empty", id: "" },
    { name: "padding", id: "AQEBANy3n75UYuzf==" },
    { name: "standard base64 characters", id: "AQEBANy3n75U+uzf" },
    { name: "space", id: "AQEBANy3 75UYuzf" },
    { name: "non-ASCII", id: "AQEBANy3n75UYuzé" },
    { name: "dot segments", id: "../../admin" },
    { name: "over-long", id: "A".repeat(MAX_ID_LENGTH + 1) },
    { name: "very long", id: "A".repeat(100_000) },
  ])("rejects the $name id", async ({ id }) => {
    const keys = await loadLinkKeys(SECRET, "");

    expect(await verifyId(keys, id)).toBeNull();
  });

  it("rejects a valid id with bytes appended", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const bytes = decode((await signRecipient(keys, 42, 1234)).click(3));

    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);

    expect(await verifyId(keys, encode(longer))).toBeNull();
    expect(await verifyId(keys, (await signRecipient(keys, 42, 1234)).click(3) + "A")).toBeNull();
  });

  it("rejects a second spelling of the same bytes", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    // 13 bytes take 18 characters, so the last character carries 4 unused bits.
    const id = (await signRecipient(keys, 42, 1234)).click(3);
    const lastValue = BASE64URL.indexOf(id.at(-1)!);
    const alternate = id.slice(0, -1) + BASE64URL[lastValue | 1];

    expect(alternate).not.toBe(id);
    expect(decode(alternate)).toEqual(decode(id));
    expect(await verifyId(keys, id)).not.toBeNull();
    expect(await verifyId(keys, alternate)).toBeNull();
  });

  it("rejects a varint spelled with a redundant byte", async () => {
    const keys = await loadLinkKeys(SECRET, "");
    const bytes = decode((await signRecipient(keys, 42, 1234)).click(3));

    // Mailing 42 is the single byte 0x2a; 0xaa 0x00 is the same value in two bytes.
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes.subarray(0, 1), 0);
    longer.set([0xaa, 0x00], 1);
    longer.set(bytes.subarray(2), 3);

    expect(await verifyId(keys, encode(longer))).toBeNull();
  });
});
