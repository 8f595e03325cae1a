/**
 * A mailing's statistics page: deliveries, opens and clicks (unique and
 * total, people and machines apart), rates, the clicks of each link and the
 * activity of each hour. The figures come from GET /api/mailings/:id/stats.
 */
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../http/app";
import { MACHINE_DELAY_MS } from "../tracking/machine";
import type { HourStats, LinkStats, MailingStats } from "../tracking/stats";
import { requireApi } from "./api";
import { StatusBadge, formatCount, formatPercent, formatTime, renderPage } from "./layout";

export const statsPages = new Hono<AppEnv>();

statsPages.get("/mailings/:id{[0-9]+}/stats", async (c) => {
  const id = Number(c.req.param("id"));
  const { stats } = await requireApi<{ stats: MailingStats }>(
    c,
    "GET",
    `/api/mailings/${id}/stats`,
  );

  return renderPage(c, {
    title: `Statistics: ${stats.name}`,
    section: "mailings",
    body: (
      <>
        <p class="small">
          <a href="/admin/mailings">Mailings</a> /{" "}
          <a href={`/admin/mailings/${id}`}>{stats.name}</a> /
        </p>
        <h1>
          Statistics <StatusBadge status={stats.status} />
        </h1>
        <Figures stats={stats} />
        <h2>People and machines</h2>
        <p class="muted small">
          Machines are link scanners, image proxies and prefetchers, recognised by their user agent,
          request method or network, or by a hit less than {MACHINE_DELAY_MS / 1000} s after the
          message was sent. Rates count people only.
        </p>
        <HumanMachineTable stats={stats} />
        <h2>Links</h2>
        <LinksTable links={stats.links} />
        <h2>By hour (UTC)</h2>
        <HoursTable hours={stats.hours} />
        {stats.variants.length > 1 && (
          <>
            <h2>Variants</h2>
            <VariantsTable stats={stats} />
          </>
        )}
      </>
    ),
  });
});

const Figure: FC<{ label: string; value: string; id: string }> = (props) => (
  <div class="figure" id={props.id}>
    <div class="value">{props.value}</div>
    <div class="label">{props.label}</div>
  </div>
);

const Figures: FC<{ stats: MailingStats }> = ({ stats }) => (
  <div class="figures">
    <Figure id="figure-sent" label="sent" value={formatCount(stats.deliveries.sent)} />
    <Figure id="figure-recipients" label="recipients" value={formatCount(stats.deliveries.total)} />
    <Figure
      id="figure-failed"
      label="failed or uncertain"
      value={formatCount(stats.deliveries.failed + stats.deliveries.uncertain)}
    />
    <Figure id="figure-opens" label="unique opens" value={formatCount(stats.opens.human.unique)} />
    <Figure id="figure-open-rate" label="open rate" value={formatPercent(stats.openRate)} />
    <Figure
      id="figure-clicks"
      label="unique clicks"
      value={formatCount(stats.clicks.human.unique)}
    />
    <Figure id="figure-click-rate" label="click rate" value={formatPercent(stats.clickRate)} />
    <Figure id="figure-ctor" label="clicks per open" value={formatPercent(stats.clickToOpenRate)} />
    <Figure id="figure-unsubscribes" label="unsubscribes" value={formatCount(stats.unsubscribes)} />
  </div>
);

const HumanMachineTable: FC<{ stats: MailingStats }> = ({ stats }) => (
  <table id="human-machine">
    <thead>
      <tr>
        <th></th>
        <th class="num">People, unique</th>
        <th class="num">People, total</th>
        <th class="num">Machines, unique</th>
        <th class="num">Machines, total</th>
      </tr>
    </thead>
    <tbody>
      <tr>
        <th>Opens</th>
        <td class="num">{formatCount(stats.opens.human.unique)}</td>
        <td class="num">{formatCount(stats.opens.human.total)}</td>
        <td class="num">{formatCount(stats.opens.machine.unique)}</td>
        <td class="num">{formatCount(stats.opens.machine.total)}</td>
      </tr>
      <tr>
        <th>Clicks</th>
        <td class="num">{formatCount(stats.clicks.human.unique)}</td>
        <td class="num">{formatCount(stats.clicks.human.total)}</td>
        <td class="num">{formatCount(stats.clicks.machine.unique)}</td>
        <td class="num">{formatCount(stats.clicks.machine.total)}</td>
      </tr>
    </tbody>
    <tfoot>
      <tr>
        <td colspan={5} class="muted small">
          {formatCount(stats.opens.implied)} of the people's opens are implied by a click without a
          loaded pixel (images off).
        </td>
      </tr>
    </tfoot>
  </table>
);

const LinksTable: FC<{ links: LinkStats[] }> = ({ links }) => {
  if (links.length === 0) return <p class="muted">The letter has no tracked links.</p>;

  const showVariant = new Set(links.map((link) => link.variant)).size > 1;
  return (
    <table id="links">
      <thead>
        <tr>
          <th class="num">#</th>
          {showVariant && <th>Variant</th>}
          <th>URL</th>
          <th class="num">Unique</th>
          <th class="num">Total</th>
          <th class="num">Machines</th>
        </tr>
      </thead>
      <tbody>
        {links.map((link) => (
          <tr>
            <td class="num">{link.idx}</td>
            {showVariant && <td>{link.variant || "–"}</td>}
            <td class="wrap">{link.url}</td>
            <td class="num">{formatCount(link.unique)}</td>
            <td class="num">{formatCount(link.total)}</td>
            <td class="num">{formatCount(link.machine)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

const HoursTable: FC<{ hours: HourStats[] }> = ({ hours }) => {
  if (hours.length === 0) return <p class="muted">Nothing sent, opened or clicked yet.</p>;

  const max = Math.max(1, ...hours.map((hour) => hour.sent + hour.opens + hour.clicks));
  return (
    <table id="hours">
      <thead>
        <tr>
          <th>Hour</th>
          <th class="num">Sent</th>
          <th class="num">Opens</th>
          <th class="num">Clicks</th>
          <th class="num">Machines</th>
          <th style="width: 30%"></th>
        </tr>
      </thead>
      <tbody>
        {hours.map((hour) => (
          <tr>
            <td>{formatTime(hour.hour)}</td>
            <td class="num">{formatCount(hour.sent)}</td>
            <td class="num">{formatCount(hour.opens)}</td>
            <td class="num">{formatCount(hour.clicks)}</td>
            <td class="num">{formatCount(hour.machine)}</td>
            <td>
              <div
                class="hbar"
                style={`width: ${(100 * (hour.sent + hour.opens + hour.clicks)) / max}%`}
              ></div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

const VariantsTable: FC<{ stats: MailingStats }> = ({ stats }) => (
  <table id="variants">
    <thead>
      <tr>
        <th>Variant</th>
        <th class="num">Recipients</th>
        <th class="num">Sent</th>
        <th class="num">Unique opens</th>
        <th class="num">Unique clicks</th>
        <th class="num">Click rate</th>
      </tr>
    </thead>
    <tbody>
      {stats.variants.map((variant) => (
        <tr>
          <td>{variant.variant || "–"}</td>
          <td class="num">{formatCount(variant.recipients)}</td>
          <td class="num">{formatCount(variant.sent)}</td>
          <td class="num">{formatCount(variant.uniqueOpens)}</td>
          <td class="num">{formatCount(variant.uniqueClicks)}</td>
          <td class="num">{formatPercent(variant.clickRate)}</td>
        </tr>
      ))}
    </tbody>
  </table>
);
