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
   * Extra header fields, written after Subject in the given order, e.g. List-Unsubscribe,
   * List-Unsubscribe-Post, List-ID, Feedback-ID or X-... Each name must be an RFC 5322
   * field-name and each value printable ASCII.
   */
  headers?: Array<[string, string]>;
}
