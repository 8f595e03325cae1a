/** Body of a message on the send queue: ids only, never rendered content. */
export interface SendMessage {
  mailingId: number;
  /** Claim token of the cron run that queued these deliveries. */
  batchId: string;
  deliveryIds: number[];
}
