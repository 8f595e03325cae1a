/** Body of a message on the send queue: ids only, never rendered content. */
export interface SendMessage {
  mailingId: number;
  /** Claim token shared by exactly the deliveries of this message. */
  batchId: string;
  /** The claimed deliveries, for logs and the dead-letter consumer; the batch id is authoritative. */
  deliveryIds: number[];
}
