/** Subscriber CSV parsing: `parseSubscriberCsv` and the types of its result. */
export { parseSubscriberCsv, MAX_ATTRIBUTE_LENGTH, MAX_COLUMNS, MAX_NAME_LENGTH } from "./parse";
export type * from "./types";
