import { BadRequestException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { DeviceRepository, type DeviceData } from '@tidegate/database';
import { DEVICE_FIELDS, IMPORT_ONLY_FIELDS, deviceProblems, toDeviceData } from './device-rules';
import { parseCsvLine, readLines, type Line } from './import-format';

export type ImportFormat = 'csv' | 'ndjson';

/** Columns an import may carry: the device fields, and when each device was last seen. */
export const IMPORT_FIELDS: readonly string[] = [...DEVICE_FIELDS, ...IMPORT_ONLY_FIELDS];
/** Rows per INSERT … ON CONFLICT statement. */
export const IMPORT_BATCH_SIZE = 2000;
/** Problems listed in the answer; the rest are only counted. */
export const MAX_LISTED_ERRORS = 1000;
/** A longer line is refused (and never buffered whole). */
export const MAX_LINE_LENGTH = 16_384;

export interface ImportError {
  line: number;
  field: string;
  message: string;
}

export interface ImportResult {
  rows: number;
  accepted: number;
  rejected: number;
  inserted: number;
  updated: number;
  errors: ImportError[];
  rejectedTotal: number;
  errorsTotal: number;
  durationMs: number;
}

/** The import stopped because the upload did (the client went away); batches written before stay written. */
export class ImportInterruptedError extends Error {
  constructor(
    readonly result: ImportResult,
    cause: unknown,
  ) {
    super(
      `the upload stopped after ${result.rows} rows (${result.accepted} written): ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'ImportInterruptedError';
  }
}

/** Writes one batch while the caller reads the next: at most one write in flight, so memory stays bounded. */
class BatchWriter {
  private inFlight: Promise<void> = Promise.resolve();
  private failure: Error | null = null;

  constructor(private readonly write: (rows: DeviceData[]) => Promise<void>) {}

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Waits for the write in flight (throwing its error), then starts writing `rows`. */
  async push(rows: DeviceData[]): Promise<void> {
    await this.settle();
    if (rows.length === 0) return;
    this.inFlight = this.write(rows).catch((err: unknown) => {
      this.failure = err instanceof Error ? err : new Error(String(err));
    });
  }

  /** Waits for the write in flight; throws if any write failed. */
  async settle(): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  /** Waits for the write in flight, whatever its outcome. */
  async drain(): Promise<void> {
    await this.inFlight;
  }
}

type Row = { ok: true; device: DeviceData } | { ok: false; problems: Array<{ field: string; message: string }> };

/** Turns the CSV header into the column names, or says why it cannot be used (400 before any row is read). */
export function csvColumns(line: Line): string[] {
  const fields = parseCsvLine(line.text);
  if (!Array.isArray(fields)) throw new BadRequestException([`CSV header: ${fields.error}`]);
  const columns = fields.map((f) => f.trim().toLowerCase());
  const problems: string[] = [];
  const unknown = columns.filter((c) => !IMPORT_FIELDS.includes(c));
  if (unknown.length > 0) problems.push(`CSV header: unknown column(s) ${unknown.map((c) => JSON.stringify(c)).join(', ')}`);
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length > 0) problems.push(`CSV header: repeated column(s) ${[...new Set(repeated)].join(', ')}`);
  for (const required of ['platform', 'token']) if (!columns.includes(required)) problems.push(`CSV header: needs a ${required} column`);
  if (problems.length > 0) {
    problems.push(`CSV header: the first line must name the columns, from: ${IMPORT_FIELDS.join(',')} (platform and token required)`);
    throw new BadRequestException(problems);
  }
  return columns;
}

/** One CSV line as a device record: empty cells are left out, tags split on `|`. */
export function csvRow(columns: readonly string[], line: Line): Row {
  const cells = parseCsvLine(line.text);
  if (!Array.isArray(cells)) return { ok: false, problems: [{ field: 'row', message: cells.error }] };
  if (cells.length !== columns.length) {
    return { ok: false, problems: [{ field: 'row', message: `has ${cells.length} fields, the header has ${columns.length}` }] };
  }
  const record: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    const cell = cells[i]!;
    if (cell === '') return;
    record[column] = column === 'tags' ? cell.split('|') : cell;
  });
  return check(record);
}

/** One NDJSON line (a JSON object with the CSV's snake_case field names) as a device record. */
export function ndjsonRow(line: Line): Row {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (err) {
    return { ok: false, problems: [{ field: 'row', message: `is not JSON: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: [{ field: 'row', message: 'must be a JSON object' }] };
  }
  return check(value as Record<string, unknown>);
}

function check(record: Record<string, unknown>): Row {
  const problems = deviceProblems(record, IMPORT_FIELDS);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, device: toDeviceData(record) };
}

/**
 * Bulk import: reads the upload line by line, validates each row with the rules of POST /admin/devices, and upserts
 * valid rows in batches. One batch is written while the next is parsed; reading waits for the write before a third
 * batch is started, so memory stays bounded (about two batches) whatever the size of the upload.
 */
@Injectable()
export class DevicesImportService {
  private readonly logger = new Logger('DevicesImport');

  constructor(private readonly devices: DeviceRepository) {}

  async import(source: AsyncIterable<Buffer | string>, format: ImportFormat, batchSize = IMPORT_BATCH_SIZE): Promise<ImportResult> {
    const started = performance.now();
    const result: ImportResult = {
      rows: 0,
      accepted: 0,
      rejected: 0,
      inserted: 0,
      updated: 0,
      errors: [],
      rejectedTotal: 0,
      errorsTotal: 0,
      durationMs: 0,
    };
    const lines = readLines(source, MAX_LINE_LENGTH);
    let columns: string[] | null = null;
    let batch: DeviceData[] = [];
    const writer = new BatchWriter(async (rows) => {
      const { inserted, updated } = await this.devices.upsertMany(rows);
      result.inserted += inserted;
      result.updated += updated;
      result.accepted += rows.length;
    });
    const flush = async () => {
      const rows = batch;
      batch = [];
      await writer.push(rows);
    };

    try {
      try {
        for await (const line of lines) {
          if (line.text.trim() === '' && !line.tooLong) continue;
          if (format === 'csv' && columns === null) {
            if (line.tooLong) throw new BadRequestException([`CSV header: longer than ${MAX_LINE_LENGTH} characters`]);
            columns = csvColumns(line);
            continue;
          }
          result.rows++;
          const row: Row = line.tooLong
            ? { ok: false, problems: [{ field: 'row', message: `is longer than ${MAX_LINE_LENGTH} characters` }] }
            : format === 'csv'
              ? csvRow(columns!, line)
              : ndjsonRow(line);
          if (row.ok) {
            batch.push(row.device);
            if (batch.length >= batchSize) await flush();
          } else {
            result.rejected++;
            for (const problem of row.problems) {
              result.errorsTotal++;
              if (result.errors.length < MAX_LISTED_ERRORS) result.errors.push({ line: line.number, ...problem });
            }
          }
        }
      } catch (err) {
        if (err instanceof BadRequestException || writer.failed) throw err;
        // The upload itself failed (the client disconnected, or the body was cut): keep what was written.
        await lines.return(undefined);
        await writer.drain();
        this.finish(result, started);
        throw new ImportInterruptedError(result, err);
      }
      if (format === 'csv' ? columns === null : result.rows === 0) {
        throw new BadRequestException([
          format === 'csv' ? 'the upload is empty: a CSV needs a header line and rows' : 'the upload is empty: no NDJSON line',
        ]);
      }
      await flush();
      await writer.settle();
    } catch (err) {
      if (err instanceof BadRequestException || err instanceof ImportInterruptedError) throw err;
      await writer.drain();
      this.finish(result, started);
      this.logger.error(
        `device import failed after ${result.accepted} rows were written: ${err instanceof Error ? err.message : String(err)}`,
      );
      throw new ServiceUnavailableException(
        `the database failed during the import; the ${result.accepted} rows written before stay written: ` +
          'fix the cause and import the file again (rows are upserted, so nothing is duplicated)',
      );
    }
    if (result.accepted > 0) await this.devices.analyze();
    return this.finish(result, started);
  }

  private finish(result: ImportResult, started: number): ImportResult {
    result.rejectedTotal = result.rejected;
    result.durationMs = Math.round(performance.now() - started);
    return result;
  }
}
