/**
 * Reading a CSV upload from a request: the raw body (text/csv and similar
 * types) or the `file` field of a multipart form. The size limit is applied
 * before this by the `bodyLimit` middleware in routes.ts.
 */
import { AppError } from "../http/errors";

/**
 * Maximum upload size in bytes. A Worker isolate has 128 MB of memory, and
 * parsed rows take about five times the file size: a generated file of
 * 100,000 rows (7.3 MB) kept 38 MB of rows in the V8 heap (Node 20, the
 * parser alone). 10 MB leaves room for the body, the decoded text and the
 * import's JSON chunks, and fits about 135,000 such rows.
 */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Media types sent for CSV files; browsers on Windows send application/vnd.ms-excel. */
const RAW_CSV_TYPES = new Set([
  "text/csv",
  "text/plain",
  "text/tab-separated-values",
  "application/csv",
  "application/vnd.ms-excel",
  "application/octet-stream",
]);

/** Reads the uploaded CSV bytes from `request`; throws AppError 400 or 415 naming the problem. */
export async function readCsvUpload(request: Request): Promise<Uint8Array> {
  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();

  if (mediaType === "multipart/form-data") return readFormFile(request);
  if (mediaType === "" || RAW_CSV_TYPES.has(mediaType)) {
    return new Uint8Array(await request.arrayBuffer());
  }

  throw new AppError(
    415,
    "unsupported_media_type",
    `Content-Type "${mediaType}" is not accepted for an import. Send the CSV file as the body with Content-Type text/csv (curl: --data-binary @list.csv -H "Content-Type: text/csv"), or as the "file" field of a multipart/form-data form.`,
  );
}

async function readFormFile(request: Request): Promise<Uint8Array> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch (error) {
    throw new AppError(
      400,
      "invalid_form",
      'The multipart/form-data body could not be parsed. Send the CSV file as the "file" field of the form.',
      [],
      { cause: error },
    );
  }

  // FormData.get returns a File for a file part and a string for a text field.
  const file: unknown = form.get("file");
  if (!(file instanceof Blob)) {
    throw new AppError(
      400,
      "missing_file",
      'The form has no file in the "file" field. Attach the CSV file as the "file" field.',
      [{ field: "file", message: "missing or not a file" }],
    );
  }
  return new Uint8Array(await file.arrayBuffer());
}
