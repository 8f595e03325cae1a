import { describe, expect, it } from "vitest";

import { resolveLinkUrl } from "../../../src/render";
import { hrefs, JANE, JOHN, page, render, T, U } from "./support";

/** `U` as it appears inside an HTML attribute. */
const U_HTML = U.replace(/&/g, "&amp;");

/** Renders one link with UTM on and tracking off; returns its href and its stored destination. */
function tagOnly(href: string) {
  const result = render(page(`<a href="${href}">x</a>`), { utm: true });
  return { href: hrefs(result.html)[0], link: result.compiled.links[0] };
}

describe("UTM on a URL with a query", () => {
  it.each([
    ["https://shop.example.com/cart/?ref=guest", `https://shop.example.com/cart/?ref=guest&${U}`],
    ["https://shop.example.com/cart/?", `https://shop.example.com/cart/?${U}`],
    ["https://shop.example.com/cart/?ref=guest&", `https://shop.example.com/cart/?ref=guest&${U}`],
    [
      "https://shop.example.com/?utm_source=partner&id=7",
      "https://shop.example.com/?utm_source=partner&id=7&utm_medium=email&utm_campaign=spring",
    ],
    ["https://shop.example.com/cart", `https://shop.example.com/cart?${U}`],
  ])("%s", (href, expected) => {
    const { link } = tagOnly(href);

    expect(link.url).toBe(expected);
    expect(link.url).not.toContain("?&");
    expect(link.url).not.toContain("&&");
    expect(link.url.split("?").length).toBe(2);
    expect(link.url).not.toMatch(/%3F|%3D/i);
  });

  it("escapes each & once in the rewritten href", () => {
    const { href } = tagOnly("https://shop.example.com/cart/?ref=guest");

    expect(href).toBe(`https://shop.example.com/cart/?ref=guest&amp;${U_HTML}`);
  });

  it("keeps the author's utm_source value", () => {
    const { link } = tagOnly("https://shop.example.com/?utm_source=partner&id=7");

    expect(link.url).toContain("utm_source=partner");
    expect(link.url).not.toContain("utm_source=newsletter");
  });
});

describe("never re-encode", () => {
  it.each([
    "https://example.com/docs/caf%C3%A9?q=a%20b&flag&list=a,b&f[0]=themes:2&sig=AbC%2B%2F%3D",
    "https://example.com/c++/guide?x=1+2",
  ])("%s keeps its bytes", (url) => {
    const { link, href } = tagOnly(url.replace(/&/g, "&amp;"));

    expect(link.url).toBe(`${url}&${U}`);
    expect(href).toBe(`${url.replace(/&/g, "&amp;")}&amp;${U_HTML}`);
  });

  it("keeps non-ASCII characters as written in the HTML", () => {
    const { href, link } = tagOnly("https://example.com/café/menü?q=日本");

    expect(href).toBe(`https://example.com/café/menü?q=日本&amp;${U_HTML}`);
    expect(resolveLinkUrl(link, JANE)).toBe(
      `https://example.com/caf%C3%A9/men%C3%BC?q=%E6%97%A5%E6%9C%AC&${U}`,
    );
  });
});

describe("fragments", () => {
  it.each([
    ["https://example.org/guide#pricing", `https://example.org/guide?${U}#pricing`],
    ["https://example.org/guide?x=1#pricing", `https://example.org/guide?x=1&${U}#pricing`],
    ["https://app.example.com/#/offers?tab=1", `https://app.example.com/?${U}#/offers?tab=1`],
  ])("%s", (href, expected) => {
    const { link } = tagOnly(href);

    expect(link.url).toBe(expected);
    expect(link.url).not.toContain("%23");
  });
});

describe("pipeline order and switches", () => {
  const html = page('<p><a href="https://example.com/promo">Promo</a></p>');

  it("tracks the tagged URL when UTM and tracking are on", () => {
    const result = render(html, { utm: true, trackClicks: true });

    expect(hrefs(result.html)).toEqual([`${T}/c/101-0`]);
    expect(result.compiled.links).toEqual([
      { idx: 0, url: `https://example.com/promo?${U}`, hasTokens: false },
    ]);
    expect(result.html).not.toContain("utm_");
    expect(result.text).toContain(`Promo [${T}/c/101-0]`);
  });

  it("tags the href when tracking is off", () => {
    const result = render(html, { utm: true });

    expect(result.html).toContain(`href="https://example.com/promo?${U_HTML}"`);
    expect(result.text).toContain(`Promo [https://example.com/promo?${U}]`);
  });

  it("tracks the bare URL when UTM is off", () => {
    const result = render(html, { trackClicks: true });

    expect(result.compiled.links[0].url).toBe("https://example.com/promo");
    expect(hrefs(result.html)).toEqual([`${T}/c/101-0`]);
  });

  it("leaves the HTML byte-identical when both are off", () => {
    const result = render(html, {});

    expect(result.html).toBe(html);
    expect(result.text).toContain("Promo [https://example.com/promo]");
  });
});

describe("links that are never rewritten", () => {
  const targets = [
    '<a href="mailto:jane.doe@example.com?subject=Hello%20there&body=Hi">Mail</a>',
    '<a href="tel:+15550100">Call</a>',
    '<a href="sms:+15550100">Text</a>',
    '<a href="#top">Top</a>',
    '<a href="">Empty</a>',
    '<a name="x">Anchor</a>',
    '<a href="javascript:void(0)">Script</a>',
    '<img src="cid:logo" alt="Logo">',
    '<a href="/relative/page">Relative</a>',
    '<a href="https://example.com/skip" data-notrack>Skipped</a>',
    '<link href="https://fonts.example.com/css?family=Nunito" rel="stylesheet">',
  ];

  it.each(targets)("%s", (target) => {
    const html = page(target);
    const result = render(html, { utm: true, trackClicks: true });

    expect(result.html).toBe(html);
    expect(result.compiled.links).toEqual([]);
  });
});

describe("entities decoded once", () => {
  it.each([
    [
      "https://example.com/rate?id=51778&amp;hash=12323&amp;rate=Good",
      "https://example.com/rate?id=51778&hash=12323&rate=Good",
    ],
    [
      "https://example.com/rate?id=51778&hash=12323&rate=Good",
      "https://example.com/rate?id=51778&hash=12323&rate=Good",
    ],
    ["https://example.com/q?t=a&amp;amp;b", "https://example.com/q?t=a&amp;b"],
    ["https://example.com/p?x=1&#038;y=2", "https://example.com/p?x=1&y=2"],
  ])("%s", (href, destination) => {
    const tracked = render(page(`<a href="${href}">x</a>`), { trackClicks: true });
    const tagged = render(page(`<a href="${href}">x</a>`), { utm: true });

    expect(tracked.compiled.links[0].url).toBe(destination);
    expect(resolveLinkUrl(tracked.compiled.links[0], JANE)).toBe(destination);
    expect(hrefs(tagged.html)[0]).toBe(`${destination.replace(/&/g, "&amp;")}&amp;${U_HTML}`);
  });
});

describe("tokens before tracking", () => {
  const html = page(
    '<a href="https://example.com/account?email={{ email }}&id={{ id }}">Account</a>',
  );

  it("stores one URL with token slots", () => {
    const { compiled } = render(html, { trackClicks: true });

    expect(compiled.links).toEqual([
      { idx: 0, url: "https://example.com/account?email={{ email }}&id={{ id }}", hasTokens: true },
    ]);
  });

  it("resolves each recipient's own destination", () => {
    const { compiled } = render(html, { trackClicks: true });

    expect(resolveLinkUrl(compiled.links[0], JANE)).toBe(
      "https://example.com/account?email=jane.doe%40example.com&id=101",
    );
    expect(resolveLinkUrl(compiled.links[0], JOHN)).toBe(
      "https://example.com/account?email=john.roe%40example.com&id=102",
    );
  });

  it("fills the href when tracking is off", () => {
    const jane = render(html, {}, JANE);
    const john = render(html, { utm: true }, JOHN);

    expect(hrefs(jane.html)).toEqual([
      "https://example.com/account?email=jane.doe%40example.com&id=101",
    ]);
    expect(hrefs(john.html)).toEqual([
      `https://example.com/account?email=john.roe%40example.com&amp;id=102&amp;${U_HTML}`,
    ]);
    expect(jane.html + john.html).not.toMatch(/\{\{|%7B%7B/i);
  });
});

describe("system links", () => {
  const html = page(
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ web_url }}">View online</a></p>',
  );

  it.each([
    ["tracking on", { trackClicks: true, utm: true }],
    ["tracking off", {}],
  ])("hold each recipient's own URLs with %s", (_name, switches) => {
    for (const subscriber of [JANE, JOHN]) {
      const result = render(html, switches, subscriber);

      expect(hrefs(result.html)).toEqual([`${T}/u/${subscriber.id}`, `${T}/v/${subscriber.id}`]);
      expect(result.compiled.links).toEqual([]);
      expect(result.text).toContain(`Unsubscribe [${T}/u/${subscriber.id}]`);
      expect(result.text).toContain(`View online [${T}/v/${subscriber.id}]`);
    }
  });
});

describe("conditional comments and VML", () => {
  const body = [
    '<!--[if mso]><table role="presentation" width="600"><tr><td><![endif]--><div>Body</div><!--[if mso]></td></tr></table><![endif]-->',
    '<!--[if !mso]><!--><a href="https://example.com/cta">Go</a><!--<![endif]-->',
    "<![if !mso]><p>Web only</p><![endif]>",
    '<!--[if mso]><v:roundrect href="https://example.com/cta" style="height:40px"><w:anchorlock/><center>Go</center></v:roundrect><![endif]-->',
  ].join("\n");

  it("tracks the link and the VML href and keeps every other byte", () => {
    const html = page(body);
    const result = render(html, { trackClicks: true });
    const expected = html
      .replace('<a href="https://example.com/cta">', `<a href="${T}/c/101-0">`)
      .replace('<v:roundrect href="https://example.com/cta"', `<v:roundrect href="${T}/c/101-1"`);

    expect(result.html).toBe(expected);
    expect(result.compiled.links.map((link) => link.url)).toEqual([
      "https://example.com/cta",
      "https://example.com/cta",
    ]);
  });

  it("keeps the downlevel-revealed markers", () => {
    const result = render(page(body), { trackClicks: true, utm: true, trackOpens: true });

    expect(result.html).toContain("<![if !mso]><p>Web only</p><![endif]>");
    expect(result.html.match(/<!--\[if/g)?.length).toBe(4);
    expect(result.html.match(/<!\[endif\]/g)?.length).toBe(5);
  });
});

describe("links in comments and raw text", () => {
  it("tracks an <a> inside an Outlook conditional comment", () => {
    const html = page('<!--[if mso]><a href="https://example.com/outlook">Go</a><![endif]-->');

    expect(render(html, { trackClicks: true }).html).toBe(
      page(`<!--[if mso]><a href="${T}/c/101-0">Go</a><![endif]-->`),
    );
  });

  it("fills tokens inside a conditional comment", () => {
    const html = page("<!--[if mso]><p>Hi {{ first_name }}</p><![endif]-->");

    expect(render(html).html).toBe(page("<!--[if mso]><p>Hi Jane</p><![endif]-->"));
  });

  it.each([
    '<!-- <a href="https://example.com/old">old</a> -->',
    '<script type="text/template"><a href="https://example.com/tpl">x</a></script>',
    '<style>a[href="https://example.com/css"] { color: red }</style>',
    '<textarea><a href="https://example.com/ta">x</a></textarea>',
  ])("leaves %s alone", (body) => {
    const html = page(body);
    const result = render(html, { trackClicks: true, utm: true });

    expect(result.html).toBe(html);
    expect(result.compiled.links).toEqual([]);
  });
});

describe("link pipeline details", () => {
  it("tracks <area> links", () => {
    const result = render(
      page('<map name="m"><area href="https://example.com/area" alt="A"></map>'),
      { trackClicks: true },
    );

    expect(result.html).toContain(`<area href="${T}/c/101-0"`);
  });

  it("quotes a rewritten unquoted href", () => {
    const result = render(page("<a href=https://example.com/x?a=1>x</a>"), { utm: true });

    expect(result.html).toContain(`<a href="https://example.com/x?a=1&amp;${U_HTML}">`);
  });

  it("keeps single quotes around a rewritten href", () => {
    const result = render(page("<a href='https://example.com/x'>x</a>"), { trackClicks: true });

    expect(result.html).toContain(`<a href='${T}/c/101-0'>`);
  });

  it("numbers every occurrence in document order", () => {
    const result = render(
      page(
        '<a href="https://a.example/">1</a><a href="https://b.example/">2</a><a href="https://a.example/">3</a>',
      ),
      { trackClicks: true },
    );

    expect(result.compiled.links.map((link) => link.idx)).toEqual([0, 1, 2]);
    expect(hrefs(result.html)).toEqual([`${T}/c/101-0`, `${T}/c/101-1`, `${T}/c/101-2`]);
  });

  it("trims whitespace around an href before selecting it", () => {
    const result = render(page('<a href="  https://example.com/x \n">x</a>'), {
      trackClicks: true,
    });

    expect(result.compiled.links[0].url).toBe("https://example.com/x");
  });

  it("treats uppercase schemes as http links", () => {
    const result = render(page('<a HREF="HTTPS://EXAMPLE.COM/X">x</a>'), { trackClicks: true });

    expect(result.compiled.links[0].url).toBe("HTTPS://EXAMPLE.COM/X");
  });

  it("adds nothing when every UTM key is already present", () => {
    const url = "https://example.com/?utm_source=a&amp;utm_medium=b&amp;utm_campaign=c";
    const html = page(`<a href="${url}">x</a>`);

    expect(render(html, { utm: true }).html).toBe(html);
  });
});

describe("whole-URL tokens", () => {
  const html = page('<a href="{{ offer_url }}">Offer</a>');
  const withOffer = (offer: string) => ({ ...JANE, attributes: { offer_url: offer } });

  it("tags an http value and never tracks it", () => {
    const result = render(
      html,
      { trackClicks: true, utm: true },
      withOffer("https://shop.example.com/o?id=5#top"),
    );

    expect(hrefs(result.html)).toEqual([`https://shop.example.com/o?id=5&amp;${U_HTML}#top`]);
    expect(result.compiled.links).toEqual([]);
    expect(result.text).toContain(`Offer [https://shop.example.com/o?id=5&${U}#top]`);
  });

  it("does not percent-encode the value", () => {
    const result = render(html, {}, withOffer("https://shop.example.com/a b?q=x&y=1"));

    expect(hrefs(result.html)).toEqual(["https://shop.example.com/a b?q=x&amp;y=1"]);
  });

  it("writes mailto: values as they are", () => {
    const result = render(
      html,
      { trackClicks: true, utm: true },
      withOffer("mailto:sales@example.com"),
    );

    expect(hrefs(result.html)).toEqual(["mailto:sales@example.com"]);
  });

  it.each(["javascript:alert(1)", "", "not a url", "data:text/html,hi"])(
    "drops the unsafe value %j",
    (value) => {
      const result = render(html, { trackClicks: true }, withOffer(value));

      expect(hrefs(result.html)).toEqual([""]);
    },
  );
});

describe("tokens in the host", () => {
  it.each([
    ["http://{{ domain }}/x", "http://shop.example.org/x"],
    ['https://{{ shop_domain | default: "example.com" }}/x', "https://example.com/x"],
  ])("%s is tagged but not tracked", (href, expected) => {
    const subscriber = { ...JANE, attributes: { domain: "shop.example.org" } };
    const result = render(
      page(`<a href="${href}">x</a>`),
      { trackClicks: true, utm: true },
      subscriber,
    );

    expect(hrefs(result.html)).toEqual([`${expected}?${U_HTML}`]);
    expect(result.compiled.links).toEqual([]);
  });

  it("tracks a token in the path", () => {
    const result = render(
      page('<a href="https://www.example.com/events/{{ city }}?utm_source=partner">x</a>'),
      { trackClicks: true, utm: true },
    );

    expect(result.compiled.links).toEqual([
      {
        idx: 0,
        url: "https://www.example.com/events/{{ city }}?utm_source=partner&utm_medium=email&utm_campaign=spring",
        hasTokens: true,
      },
    ]);
    expect(
      resolveLinkUrl(result.compiled.links[0], { ...JANE, attributes: { city: "São Paulo" } }),
    ).toBe(
      "https://www.example.com/events/S%C3%A3o%20Paulo?utm_source=partner&utm_medium=email&utm_campaign=spring",
    );
  });
});

describe("hand-written text part", () => {
  it("runs its URLs through the same pipeline", () => {
    const textBody =
      "Hi {{ first_name }},\nsee https://example.com/promo?x=1. Or https://example.com/b#f\n";
    const result = render(
      page('<a href="https://example.com/promo">P</a>'),
      { trackClicks: true, utm: true },
      JANE,
      { textBody },
    );

    expect(result.text).toBe(`Hi Jane,\nsee ${T}/c/101-1. Or ${T}/c/101-2\n`);
    expect(result.compiled.links.map((link) => link.url)).toEqual([
      `https://example.com/promo?${U}`,
      `https://example.com/promo?x=1&${U}`,
      `https://example.com/b?${U}#f`,
    ]);
  });

  it("tags without tracking when tracking is off", () => {
    const result = render(page("<p>x</p>"), { utm: true }, JANE, {
      textBody: "Go: https://example.com/a?e={{ email }}",
    });

    expect(result.text).toBe(`Go: https://example.com/a?e=jane.doe%40example.com&${U}`);
  });
});

describe("text part of mailto:, tel: and sms: links", () => {
  it.each([
    [
      '<a href="mailto:support@example.com?subject=Question%20about%20my%20order">Shop now</a>',
      "Shop now [mailto:support@example.com?subject=Question%20about%20my%20order]",
    ],
    ['<a href="tel:+4930123456">Call us</a>', "Call us [tel:+4930123456]"],
    ['<a href="sms:+4930123456">Text us</a>', "Text us [sms:+4930123456]"],
  ])("keeps the scheme of %s", (body, expected) => {
    expect(render(page(body)).text).toContain(expected);
  });

  it("reads an address link as its text alone", () => {
    const result = render(
      page('<p><a href="mailto:support@example.com">support@example.com</a></p>'),
    );

    expect(result.text.trim()).toBe("support@example.com");
  });
});
