/** A mailbox: an optional display name and an ASCII addr-spec. */
export interface Address {
  name?: string;
  email: string;
}

/** Everything buildMessage needs to render one message for one recipient. */
export interface MimeMessage {
  from: Address;
  to: Address;
  replyTo?: Address | null;
  subject: string;
  /** Message-ID without angle brackets, e.g. `d12.m3@example.org`. */
  messageId: string;
  date: Date;
  html: string;
  text: string;
  /**
   * Extra header fields written after Subject, in this order: List-Unsubscribe,
   * List-Unsubscribe-Post, List-ID, Feedback-ID, X-... Values must be printable ASCII.
   */
  headers?: Array<[string, string]>;
}
