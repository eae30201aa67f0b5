/**
 * A page with the third-party `<moq-publish>` element (@moq/publish, kixelated's MoQ publisher:
 * WebCodecs H.264 + Opus over moq-lite), unmodified, publishing Chromium's fake camera and
 * microphone to the URL it is given, the way its README says to use it.
 */
import '@moq/publish/element';

interface PublishOptions {
  url: string;
  hashes: string[];
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
}

Object.assign(window, {
  startMoqPublish({ url, hashes }: PublishOptions): void {
    const element = document.createElement('moq-publish') as HTMLElement & {
      connection: { webtransport: unknown; websocket: unknown; status: { peek(): string } };
    };
    // Read on each connect attempt: set before the element connects (it is not attached yet).
    element.connection.webtransport = { serverCertificateHashes: hashes.map((value) => ({ algorithm: 'sha-256', value: hexToBytes(value) })) };
    // Otherwise it also races a WebSocket (qmux) connection to the same URL after 500 ms.
    element.connection.websocket = { enabled: false };
    element.setAttribute('url', url);
    element.setAttribute('name', 'interop.hang');
    element.setAttribute('source', 'camera');
    element.append(document.createElement('video'));
    document.body.append(element);
    Object.assign(window, { moqPublish: element });
  },
  moqPublishStatus(): string | undefined {
    return (window as unknown as { moqPublish?: { connection: { status: { peek(): string } } } }).moqPublish?.connection.status.peek();
  },
  stopMoqPublish(): void {
    (window as unknown as { moqPublish?: HTMLElement }).moqPublish?.remove();
  },
});
