/**
 * Conversion between a `letters` row and the renderer's LetterSource. A
 * mailing stores the source as it was when the mailing started.
 */
import type { letters } from "../db/schema";
import type { LetterSource } from "../render";

export type LetterRow = typeof letters.$inferSelect;

export function letterSource(row: LetterRow): LetterSource {
  return {
    subject: row.subject,
    preheader: row.preheader,
    fromName: row.fromName,
    fromEmail: row.fromEmail,
    replyTo: row.replyTo,
    layout: row.layout,
    blocks: row.blocks,
    textBody: row.textBody,
    settings: row.settings,
  };
}
