/** The @moq/lite types the ingest holds (the package exports classes, not all of their names). */
import type * as MoqLite from '@moq/lite';

export declare namespace Moq {
  type Connection = Awaited<ReturnType<typeof MoqLite.Connection.accept>>;
  type Track = ReturnType<MoqLite.Broadcast['subscribe']>;
  type Group = NonNullable<Awaited<ReturnType<Track['recvGroup']>>>;
}
