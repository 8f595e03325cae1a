/**
 * Invalid message input. `field` names the input that was rejected (`to.email`,
 * `headers[2].name`, `messageId`, ...) and the message states why and what to pass instead.
 */
export class MimeError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "MimeError";
    this.field = field;
  }
}
