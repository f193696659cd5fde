import type { Client } from 'pg';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { SourceEvent } from '../../pipeline/source-event.js';
import { PgoutputDecoder } from './pgoutput-decoder.js';

interface PgoutputOptions {
  readonly publication: string;
}

/**
 * pgoutput for the library's replication service, decoded by millrace's own decoder: the
 * service keeps the connection, copy stream and status updates, this plugin starts the stream
 * and turns each XLogData payload into a SourceEvent. A payload that does not decode comes back
 * as the error (thrown, it would escape the socket's data handler and take down the process).
 * The service takes any object of this shape (its plugin base class is not exported).
 */
export class MillracePgoutputPlugin {
  readonly options: PgoutputOptions;
  private readonly decoder = new PgoutputDecoder();

  constructor(options: PgoutputOptions) {
    this.options = options;
  }

  get name(): string {
    return 'pgoutput';
  }

  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    // Protocol version 1; `messages` carries the online backfill's watermarks.
    const publication = this.options.publication.replaceAll("'", "''");
    return client.query(
      `START_REPLICATION SLOT "${slotName.replaceAll('"', '""')}" LOGICAL ${lastLsn} ` +
        `(proto_version '1', publication_names '${publication}', messages 'true')`,
    );
  }

  parse(buffer: Buffer): SourceEvent | RuntimeFailure | undefined {
    try {
      return this.decoder.decode(buffer);
    } catch (error) {
      return new RuntimeFailure(
        'STREAM_UNDECODABLE',
        `cannot decode the replication stream (${error instanceof Error ? error.message : String(error)}); is the slot's plugin pgoutput?`,
        { cause: error },
      );
    }
  }
}
