/*
 * The WHEP fan-out's last step in C: SRTP-protect a viewer's RTP packet and queue it; the queue
 * leaves in one sendmmsg(2) per viewer socket (webrtc/native-send.ts schedules the flush at the
 * end of the JS turn that queued).
 *
 * Why: a forwarded packet cost ~8.7 µs through libdatachannel on a 2-core AMD EPYC, against a
 * 4.4 µs `sendto` floor: most of a loopback send is the syscall itself, and one sendmmsg of a
 * viewer's burst costs about what one sendto does (bench/native/fanout-floor.c). DTLS, ICE and
 * the keys stay werift's (werift-fast-sender.ts hands the session keys and the nominated pair's
 * socket over); this only encrypts and sends.
 *
 * Protection (the session keys come derived, RFC 3711 §4.3):
 *   AEAD_AES_128_GCM (RFC 7714 §8): IV = (00 00 || SSRC || ROC || SEQ) XOR salt, the header is
 *     the AAD, a 16-byte tag follows the payload.
 *   AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2): AES-CTR from IV = (salt << 16) XOR
 *     (SSRC << 64) XOR (index << 16), HMAC-SHA1 over header || payload || ROC, 80 bits kept.
 * OpenSSL is the one Node carries (its symbols are exported by the node binary): no -l flag.
 *
 * The socket: its descriptor is dup'ed when a destination is set, and the dup is closed when the
 * context is released (or collected), so a socket werift closes can never be a reused descriptor
 * we write to. abs-send-time is the caller's, so that a resend can repeat its packet exactly.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#define OPENSSL_SUPPRESS_DEPRECATED
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOT_BYTES 1600
#define MAX_PENDING 512
#define MAX_EXTENSION 64

typedef struct {
  int gcm;
  EVP_CIPHER_CTX *cipher;
  unsigned char salt[14];
  unsigned char auth_key[20];
  uint32_t ssrc;
  unsigned char extension[MAX_EXTENSION];
  int extension_length;
  int abs_send_time_at; /* offset of abs-send-time's 3 bytes in the extension block, or -1 */
  int fd;               /* our dup of the socket, or -1 */
  struct sockaddr_storage destination;
  socklen_t destination_length;
  int released;
} context_t;

typedef struct {
  context_t *context;
  int length;
} pending_t;

static unsigned char slots[MAX_PENDING][SLOT_BYTES];
static pending_t pending[MAX_PENDING];
static int pending_count;
static double sent_packets, dropped_packets, send_calls;

#define CHECK(call)                                           \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      napi_throw_error(env, "ONAIR_NATIVE", "napi: " #call);  \
      return NULL;                                            \
    }                                                         \
  } while (0)

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ONAIR_NATIVE", message);
  return NULL;
}

static void release_context(context_t *context) {
  if (context->released) return;
  context->released = 1;
  if (context->fd >= 0) close(context->fd);
  context->fd = -1;
  EVP_CIPHER_CTX_free(context->cipher);
  context->cipher = NULL;
}

static void flush_pending(void);

static void finalize_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  context_t *context = data;
  /* Packets still queued point at it. */
  flush_pending();
  release_context(context);
  free(context);
}

/* Marks our externals, so no other addon's external is ever read as a context. */
static const napi_type_tag CONTEXT_TAG = {0x6f6e6169722d7372ULL, 0x74702d73656e6431ULL};

static context_t *context_of(napi_env env, napi_value value) {
  void *data = NULL;
  bool ours = false;
  if (napi_check_object_type_tag(env, value, &CONTEXT_TAG, &ours) != napi_ok || !ours) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || !data) return NULL;
  return data;
}

static int buffer_of(napi_env env, napi_value value, unsigned char **data, size_t *length) {
  return napi_get_buffer_info(env, value, (void **)data, length) == napi_ok;
}

/* createContext(gcm, key, salt, authKey, ssrc, extension | null, absSendTimeAt) → external */
static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_type(env, "createContext: 7 arguments");
  bool gcm;
  unsigned char *key, *salt, *auth_key, *extension = NULL;
  size_t key_length, salt_length, auth_key_length, extension_length = 0;
  uint32_t ssrc;
  int32_t abs_send_time_at;
  napi_valuetype extension_type;
  if (napi_get_value_bool(env, argv[0], &gcm) != napi_ok) return throw_type(env, "gcm: boolean");
  if (!buffer_of(env, argv[1], &key, &key_length) || key_length != 16) return throw_type(env, "key: 16 bytes");
  if (!buffer_of(env, argv[2], &salt, &salt_length) || salt_length != (gcm ? 12u : 14u)) return throw_type(env, "salt: 12 bytes (GCM) or 14 (CM)");
  if (!buffer_of(env, argv[3], &auth_key, &auth_key_length) || (!gcm && auth_key_length != 20)) return throw_type(env, "authKey: 20 bytes (CM)");
  if (napi_get_value_uint32(env, argv[4], &ssrc) != napi_ok) return throw_type(env, "ssrc: number");
  CHECK(napi_typeof(env, argv[5], &extension_type));
  if (extension_type != napi_null && (!buffer_of(env, argv[5], &extension, &extension_length) || extension_length > MAX_EXTENSION || extension_length % 4 != 0)) {
    return throw_type(env, "extension: null or a block of ≤ 64 bytes, whole words");
  }
  if (napi_get_value_int32(env, argv[6], &abs_send_time_at) != napi_ok || abs_send_time_at < -1 || (abs_send_time_at >= 0 && (int64_t)abs_send_time_at + 3 > (int64_t)extension_length)) {
    return throw_type(env, "absSendTimeAt: -1 or an offset in the extension");
  }
  context_t *context = calloc(1, sizeof *context);
  if (!context) return throw_type(env, "out of memory");
  context->gcm = gcm;
  context->fd = -1;
  context->cipher = EVP_CIPHER_CTX_new();
  if (!context->cipher || EVP_EncryptInit_ex(context->cipher, gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), NULL, key, NULL) != 1) {
    release_context(context);
    free(context);
    return throw_type(env, "cipher init failed");
  }
  memcpy(context->salt, salt, salt_length);
  if (!gcm) memcpy(context->auth_key, auth_key, 20);
  context->ssrc = ssrc;
  if (extension) memcpy(context->extension, extension, extension_length);
  context->extension_length = (int)extension_length;
  context->abs_send_time_at = abs_send_time_at;
  napi_value result;
  if (napi_create_external(env, context, finalize_context, NULL, &result) != napi_ok) {
    release_context(context);
    free(context);
    return throw_type(env, "napi_create_external failed");
  }
  CHECK(napi_type_tag_object(env, result, &CONTEXT_TAG));
  return result;
}

/* setDestination(context, fd, host, port) → boolean: false when the host is no IP or the dup failed. */
static napi_value set_destination(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  context_t *context = argc == 4 ? context_of(env, argv[0]) : NULL;
  if (!context) return throw_type(env, "setDestination(context, fd, host, port)");
  int32_t fd;
  uint32_t port;
  char host[64];
  size_t host_length;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok || napi_get_value_uint32(env, argv[3], &port) != napi_ok || port > 65535 ||
      napi_get_value_string_utf8(env, argv[2], host, sizeof host, &host_length) != napi_ok) {
    return throw_type(env, "setDestination(context, fd, host, port)");
  }
  napi_value result;
  struct sockaddr_storage destination;
  memset(&destination, 0, sizeof destination);
  socklen_t length = 0;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&destination;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&destination;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    length = sizeof *v6;
  }
  int type = 0;
  socklen_t type_length = sizeof type;
  int usable = length > 0 && !context->released && fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) == 0 && type == SOCK_DGRAM;
  if (usable) {
    /* Queued packets were meant for the old destination: they go first. */
    flush_pending();
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
      usable = 0;
    } else {
      if (context->fd >= 0) close(context->fd);
      context->fd = copy;
      context->destination = destination;
      context->destination_length = length;
    }
  }
  CHECK(napi_get_boolean(env, usable, &result));
  return result;
}

/* Header + payload + tag into `out`; returns the length, or -1. */
static int protect(context_t *context, uint16_t seq, uint32_t timestamp, int marker_pt, uint32_t roc, uint32_t abs_send_time, const unsigned char *payload, size_t payload_length, unsigned char *out) {
  const int header_length = 12 + context->extension_length;
  const int tag_length = context->gcm ? 16 : 10;
  if ((size_t)header_length + payload_length + (size_t)tag_length + 4 > SLOT_BYTES) return -1;
  out[0] = context->extension_length ? 0x90 : 0x80;
  out[1] = (unsigned char)(marker_pt & 0xff);
  out[2] = (unsigned char)(seq >> 8);
  out[3] = (unsigned char)seq;
  out[4] = (unsigned char)(timestamp >> 24);
  out[5] = (unsigned char)(timestamp >> 16);
  out[6] = (unsigned char)(timestamp >> 8);
  out[7] = (unsigned char)timestamp;
  uint32_t ssrc = context->ssrc;
  out[8] = (unsigned char)(ssrc >> 24);
  out[9] = (unsigned char)(ssrc >> 16);
  out[10] = (unsigned char)(ssrc >> 8);
  out[11] = (unsigned char)ssrc;
  if (context->extension_length) {
    memcpy(out + 12, context->extension, (size_t)context->extension_length);
    if (context->abs_send_time_at >= 0) {
      unsigned char *at = out + 12 + context->abs_send_time_at;
      at[0] = (unsigned char)(abs_send_time >> 16);
      at[1] = (unsigned char)(abs_send_time >> 8);
      at[2] = (unsigned char)abs_send_time;
    }
  }
  int written = 0, final_length = 0;
  if (context->gcm) {
    unsigned char iv[12];
    memcpy(iv, context->salt, 12);
    iv[2] ^= (unsigned char)(ssrc >> 24), iv[3] ^= (unsigned char)(ssrc >> 16), iv[4] ^= (unsigned char)(ssrc >> 8), iv[5] ^= (unsigned char)ssrc;
    iv[6] ^= (unsigned char)(roc >> 24), iv[7] ^= (unsigned char)(roc >> 16), iv[8] ^= (unsigned char)(roc >> 8), iv[9] ^= (unsigned char)roc;
    iv[10] ^= (unsigned char)(seq >> 8), iv[11] ^= (unsigned char)seq;
    if (EVP_EncryptInit_ex(context->cipher, NULL, NULL, NULL, iv) != 1) return -1;
    if (EVP_EncryptUpdate(context->cipher, NULL, &written, out, header_length) != 1) return -1;
    if (EVP_EncryptUpdate(context->cipher, out + header_length, &written, payload, (int)payload_length) != 1) return -1;
    if (EVP_EncryptFinal_ex(context->cipher, out + header_length + written, &final_length) != 1) return -1;
    if (EVP_CIPHER_CTX_ctrl(context->cipher, EVP_CTRL_GCM_GET_TAG, 16, out + header_length + (int)payload_length) != 1) return -1;
    return header_length + (int)payload_length + 16;
  }
  unsigned char iv[16];
  memset(iv, 0, sizeof iv);
  memcpy(iv, context->salt, 14);
  iv[4] ^= (unsigned char)(ssrc >> 24), iv[5] ^= (unsigned char)(ssrc >> 16), iv[6] ^= (unsigned char)(ssrc >> 8), iv[7] ^= (unsigned char)ssrc;
  iv[8] ^= (unsigned char)(roc >> 24), iv[9] ^= (unsigned char)(roc >> 16), iv[10] ^= (unsigned char)(roc >> 8), iv[11] ^= (unsigned char)roc;
  iv[12] ^= (unsigned char)(seq >> 8), iv[13] ^= (unsigned char)seq;
  if (EVP_EncryptInit_ex(context->cipher, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_EncryptUpdate(context->cipher, out + header_length, &written, payload, (int)payload_length) != 1) return -1;
  int authenticated = header_length + (int)payload_length;
  /* The ROC is authenticated after the packet (RFC 3711 §4.2): written where the tag goes. */
  out[authenticated] = (unsigned char)(roc >> 24);
  out[authenticated + 1] = (unsigned char)(roc >> 16);
  out[authenticated + 2] = (unsigned char)(roc >> 8);
  out[authenticated + 3] = (unsigned char)roc;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (!HMAC(EVP_sha1(), context->auth_key, 20, out, (size_t)authenticated + 4, digest, &digest_length)) return -1;
  memcpy(out + authenticated, digest, 10);
  return authenticated + 10;
}

/* One sendmmsg per run of packets to the same socket; a packet the kernel refuses is dropped (UDP). */
static void flush_pending(void) {
  static struct mmsghdr messages[MAX_PENDING];
  static struct iovec vectors[MAX_PENDING];
  int start = 0;
  while (start < pending_count) {
    context_t *first = pending[start].context;
    int end = start;
    while (end < pending_count && pending[end].context->fd == first->fd) {
      context_t *context = pending[end].context;
      vectors[end].iov_base = slots[end];
      vectors[end].iov_len = (size_t)pending[end].length;
      memset(&messages[end], 0, sizeof messages[end]);
      messages[end].msg_hdr.msg_name = &context->destination;
      messages[end].msg_hdr.msg_namelen = context->destination_length;
      messages[end].msg_hdr.msg_iov = &vectors[end];
      messages[end].msg_hdr.msg_iovlen = 1;
      end++;
    }
    int at = start;
    while (at < end) {
      if (first->fd < 0) {
        dropped_packets += end - at;
        break;
      }
      send_calls++;
      int sent = sendmmsg(first->fd, &messages[at], (unsigned int)(end - at), MSG_DONTWAIT);
      if (sent > 0) {
        sent_packets += sent;
        at += sent;
      } else if (sent < 0 && errno == EINTR) {
        continue;
      } else {
        /* The first packet was refused (full socket buffer, unreachable): the rest may pass. */
        dropped_packets++;
        at++;
      }
    }
    start = end;
  }
  pending_count = 0;
}

/*
 * send(context, seq, timestamp, markerAndPayloadType, roc, payload, absSendTime) → bytes on the
 * wire, 0 when not queued. absSendTime (24 bits) is the caller's: a resend must carry the
 * original's, for the same IV may not authenticate another header (RFC 7714 §8.2).
 */
static napi_value send_packet(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  context_t *context = argc == 7 ? context_of(env, argv[0]) : NULL;
  uint32_t seq, timestamp, marker_pt, roc, abs_send_time;
  unsigned char *payload;
  size_t payload_length;
  if (!context || napi_get_value_uint32(env, argv[1], &seq) != napi_ok || napi_get_value_uint32(env, argv[2], &timestamp) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &marker_pt) != napi_ok || napi_get_value_uint32(env, argv[4], &roc) != napi_ok ||
      !buffer_of(env, argv[5], &payload, &payload_length) || napi_get_value_uint32(env, argv[6], &abs_send_time) != napi_ok) {
    return throw_type(env, "send(context, seq, timestamp, markerAndPayloadType, roc, payload, absSendTime)");
  }
  int length = -1;
  if (!context->released && context->fd >= 0) {
    if (pending_count == MAX_PENDING) flush_pending();
    length = protect(context, (uint16_t)seq, timestamp, (int)marker_pt, roc, abs_send_time, payload, payload_length, slots[pending_count]);
    if (length > 0) {
      pending[pending_count].context = context;
      pending[pending_count].length = length;
      pending_count++;
    }
  }
  napi_value result;
  CHECK(napi_create_int32(env, length > 0 ? length : 0, &result));
  return result;
}

/* flush() → packets that were queued. */
static napi_value flush(napi_env env, napi_callback_info info) {
  (void)info;
  int count = pending_count;
  flush_pending();
  napi_value result;
  CHECK(napi_create_int32(env, count, &result));
  return result;
}

/* release(context): its queued packets leave, then its socket copy is closed. */
static napi_value release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  context_t *context = argc == 1 ? context_of(env, argv[0]) : NULL;
  if (!context) return throw_type(env, "release(context)");
  flush_pending();
  release_context(context);
  return NULL;
}

/* stats() → { sent, dropped, sendCalls } since the addon loaded. */
static napi_value stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_double(env, sent_packets, &value));
  CHECK(napi_set_named_property(env, result, "sent", value));
  CHECK(napi_create_double(env, dropped_packets, &value));
  CHECK(napi_set_named_property(env, result, "dropped", value));
  CHECK(napi_create_double(env, send_calls, &value));
  CHECK(napi_set_named_property(env, result, "sendCalls", value));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"createContext", NULL, create_context, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setDestination", NULL, set_destination, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, send_packet, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flush", NULL, flush, NULL, NULL, NULL, napi_enumerable, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) return NULL;
  return exports;
}
