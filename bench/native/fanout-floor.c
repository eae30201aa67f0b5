/*
 * The machine's floor for the WHEP fan-out (bench/lib/fanout-floor.ts compiles and runs this
 * with the system's cc): what one forwarded packet costs at the least on this machine, measured
 * the way the ingest sends — one UDP socket per viewer on loopback, each packet `sendto` its
 * viewer's socket, bursts of `burst` packets per viewer per frame, viewer by viewer, at the
 * stream's packet rate — with a reader on another core draining every viewer's socket, as the
 * fan-out bench's load generator does.
 *
 * With libSRTP (optional): node-datachannel's own libSRTP 2 (statically linked into its addon,
 * with its OpenSSL) is reached by dlopen'ing the addon and calling the library's functions at
 * their offsets (`nm` names them; they are not exported). One SRTP session per viewer, the
 * packet copied into a send buffer and protected in place, as libdatachannel does.
 *
 *   fanout-floor <packet bytes> <sockets> <packets/s per socket> <seconds per phase> <burst>
 *                <sender cpu> <reader cpu> [<addon path> <name>=<hex offset>...]
 *
 * Offsets needed: napi_register_module_v1 (the exported anchor), srtp_init, srtp_create,
 * srtp_protect, srtp_crypto_policy_set_aes_gcm_128_16_auth, srtp_crypto_policy_set_rtp_default.
 *
 * Prints one JSON line: CPU µs per packet (CLOCK_THREAD_CPUTIME_ID around the sends only) for
 * sendto alone, SRTP protect alone (AES-128-GCM and AES-CM-128 + HMAC-SHA1-80), and protect +
 * sendto (AES-128-GCM), the packets sent and the packets the reader got.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* libSRTP 2.x's public types (srtp2/srtp.h), declared here so no -dev package is needed. */
typedef struct {
  uint32_t cipher_type;
  int cipher_key_len;
  uint32_t auth_type;
  int auth_key_len;
  int auth_tag_len;
  int sec_serv;
} srtp_crypto_policy_t;
typedef struct {
  int type;
  unsigned int value;
} srtp_ssrc_t;
typedef struct srtp_policy_t {
  srtp_ssrc_t ssrc;
  srtp_crypto_policy_t rtp;
  srtp_crypto_policy_t rtcp;
  unsigned char *key;
  void **keys;
  unsigned long num_master_keys;
  void *deprecated_ekt;
  unsigned long window_size;
  int allow_repeat_tx;
  int *enc_xtn_hdr;
  int enc_xtn_hdr_count;
  struct srtp_policy_t *next;
} srtp_policy_t;
typedef void *srtp_t;
enum { SSRC_SPECIFIC = 1 };

typedef int (*srtp_init_fn)(void);
typedef int (*srtp_create_fn)(srtp_t *session, const srtp_policy_t *policy);
typedef int (*srtp_protect_fn)(srtp_t ctx, void *rtp_hdr, int *len_ptr);
typedef void (*policy_set_fn)(srtp_crypto_policy_t *p);

static struct {
  srtp_init_fn init;
  srtp_create_fn create;
  srtp_protect_fn protect;
  policy_set_fn gcm128;
  policy_set_fn cm128sha80;
} srtp;

static int packet_bytes, sockets, pps, seconds, burst;
static int *senders, *receivers;
static struct sockaddr_in *destinations;
static uint16_t *sequence;
static uint32_t *ssrcs;
static srtp_t *sessions;
static unsigned char payload[2048];
static unsigned char wire[2048 + 64];
/* Packets handed to sendto (the reader's count is compared with it). */
static long long sent;

static double now_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

static void die(const char *what) {
  fprintf(stderr, "fanout-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int udp_socket(int rcvbuf) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  return fd;
}

/* The reader: drains every viewer socket (epoll, level-triggered) until told to stop; writes its count. */
static void reader(int cpu, int report_fd, int stop_fd) {
  pin(cpu);
  int ep = epoll_create1(0);
  for (int i = 0; i < sockets; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, receivers[i], &ev);
  }
  struct epoll_event stop = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &stop);
  long long received = 0;
  static unsigned char buf[4096];
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, 1000);
    for (int k = 0; k < n; k++) {
      if (events[k].data.u32 == UINT32_MAX) {
        if (write(report_fd, &received, sizeof received) < 0) _exit(1);
        _exit(0);
      }
      int fd = receivers[events[k].data.u32];
      while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) received++;
    }
  }
}

enum mode { SENDTO, PROTECT, PROTECT_SENDTO };

/*
 * One phase: frames at pps / burst per second for `seconds`; per frame every socket gets `burst`
 * packets, socket by socket. Returns CPU µs per packet spent in the send loop.
 */
static double phase(enum mode mode, long long *packets_out) {
  const double frame_s = (double)burst / pps;
  const double started = now_s(CLOCK_MONOTONIC);
  double cpu = 0;
  long long packets = 0;
  long long frame = 0;
  while (now_s(CLOCK_MONOTONIC) - started < seconds) {
    double wait = started + (double)frame * frame_s - now_s(CLOCK_MONOTONIC);
    if (wait > 0) {
      struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
      nanosleep(&ts, NULL);
    }
    frame++;
    double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < sockets; i++) {
      for (int b = 0; b < burst; b++) {
        int len = packet_bytes;
        unsigned char *out = payload;
        uint16_t seq = ++sequence[i];
        if (mode != SENDTO) {
          /* The send buffer is written per packet (header + payload copy), then protected in place. */
          memcpy(wire, payload, (size_t)packet_bytes);
          wire[2] = (unsigned char)(seq >> 8);
          wire[3] = (unsigned char)seq;
          wire[8] = (unsigned char)(ssrcs[i] >> 24);
          wire[9] = (unsigned char)(ssrcs[i] >> 16);
          wire[10] = (unsigned char)(ssrcs[i] >> 8);
          wire[11] = (unsigned char)ssrcs[i];
          if (srtp.protect(sessions[i], wire, &len) != 0) {
            fprintf(stderr, "fanout-floor: srtp_protect failed\n");
            exit(1);
          }
          out = wire;
        } else {
          payload[2] = (unsigned char)(seq >> 8);
          payload[3] = (unsigned char)seq;
        }
        if (mode != PROTECT) {
          if (sendto(senders[i], out, (size_t)len, 0, (struct sockaddr *)&destinations[i], sizeof destinations[i]) >= 0) sent++;
          else if (errno != EAGAIN && errno != ENOBUFS) die("sendto");
        }
        packets++;
      }
    }
    cpu += now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  }
  *packets_out += packets;
  return packets ? cpu * 1e6 / (double)packets : -1;
}

static int make_sessions(policy_set_fn set) {
  for (int i = 0; i < sockets; i++) {
    unsigned char key[46];
    for (size_t k = 0; k < sizeof key; k++) key[k] = (unsigned char)rand();
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    set(&policy.rtp);
    set(&policy.rtcp);
    policy.ssrc.type = SSRC_SPECIFIC;
    policy.ssrc.value = ssrcs[i];
    policy.key = key;
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;
    if (srtp.create(&sessions[i], &policy) != 0) return -1;
  }
  return 0;
}

static long parse_offset(const char *arg, const char *name) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || arg[n] != '=') return -1;
  return strtol(arg + n + 1, NULL, 16);
}

static const char *load_srtp(int argc, char **argv) {
  void *addon = dlopen(argv[0], RTLD_LAZY | RTLD_LOCAL);
  if (!addon) return "dlopen of the addon failed";
  const char *names[] = {"napi_register_module_v1", "srtp_init", "srtp_create", "srtp_protect", "srtp_crypto_policy_set_aes_gcm_128_16_auth", "srtp_crypto_policy_set_rtp_default"};
  long offsets[6];
  for (int k = 0; k < 6; k++) {
    offsets[k] = -1;
    for (int a = 1; a < argc && offsets[k] < 0; a++) offsets[k] = parse_offset(argv[a], names[k]);
    if (offsets[k] < 0) return "a libSRTP symbol is missing from the addon";
  }
  char *anchor = dlsym(addon, names[0]);
  if (!anchor) return "the addon exports no napi_register_module_v1";
  char *base = anchor - offsets[0];
  srtp.init = (srtp_init_fn)(base + offsets[1]);
  srtp.create = (srtp_create_fn)(base + offsets[2]);
  srtp.protect = (srtp_protect_fn)(base + offsets[3]);
  srtp.gcm128 = (policy_set_fn)(base + offsets[4]);
  srtp.cm128sha80 = (policy_set_fn)(base + offsets[5]);
  return srtp.init() == 0 ? NULL : "srtp_init failed";
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: fanout-floor <packet bytes> <sockets> <pps per socket> <seconds> <burst> <sender cpu> <reader cpu> [<addon> name=offset...]\n");
    return 2;
  }
  packet_bytes = atoi(argv[1]);
  sockets = atoi(argv[2]);
  pps = atoi(argv[3]);
  seconds = atoi(argv[4]);
  burst = atoi(argv[5]);
  int sender_cpu = atoi(argv[6]);
  int reader_cpu = atoi(argv[7]);
  if (packet_bytes < 12 || packet_bytes > 2048 || sockets < 1 || sockets > 20000 || pps < 1 || seconds < 1 || seconds > 60 || burst < 1) {
    fprintf(stderr, "fanout-floor: bad arguments\n");
    return 2;
  }
  const char *srtp_error = argc > 8 ? load_srtp(argc - 8, argv + 8) : "not asked for";
  int with_srtp = srtp_error == NULL;

  senders = calloc((size_t)sockets, sizeof *senders);
  receivers = calloc((size_t)sockets, sizeof *receivers);
  destinations = calloc((size_t)sockets, sizeof *destinations);
  sequence = calloc((size_t)sockets, sizeof *sequence);
  ssrcs = calloc((size_t)sockets, sizeof *ssrcs);
  sessions = calloc((size_t)sockets, sizeof *sessions);
  srand(1);
  for (int i = 0; i < (int)sizeof payload; i++) payload[i] = (unsigned char)rand();
  payload[0] = 0x80;
  payload[1] = 102;
  for (int i = 0; i < sockets; i++) {
    senders[i] = udp_socket(0);
    receivers[i] = udp_socket(1 << 20);
    socklen_t len = sizeof destinations[i];
    if (getsockname(receivers[i], (struct sockaddr *)&destinations[i], &len) < 0) die("getsockname");
    ssrcs[i] = (uint32_t)rand() | 1u;
  }

  int report[2], stop[2];
  if (pipe(report) < 0 || pipe(stop) < 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) reader(reader_cpu, report[1], stop[0]);
  pin(sender_cpu);

  long long packets = 0;
  double sendto_us = phase(SENDTO, &packets);
  double gcm_protect_us = -1, cm_protect_us = -1, gcm_sendto_us = -1;
  if (with_srtp) {
    if (make_sessions(srtp.cm128sha80) == 0) cm_protect_us = phase(PROTECT, &packets);
    if (make_sessions(srtp.gcm128) == 0) {
      gcm_protect_us = phase(PROTECT, &packets);
      gcm_sendto_us = phase(PROTECT_SENDTO, &packets);
    } else {
      srtp_error = "srtp_create failed";
    }
  }
  if (write(stop[1], "x", 1) < 0) die("write");
  long long received = 0;
  if (read(report[0], &received, sizeof received) != (ssize_t)sizeof received) received = -1;
  waitpid(child, NULL, 0);

  printf("{\"packetBytes\":%d,\"sockets\":%d,\"packetsPerSecondPerSocket\":%d,\"burst\":%d,\"secondsPerPhase\":%d,"
         "\"sendtoUs\":%.3f,\"srtpAes128GcmUs\":%.3f,\"srtpAesCm128Sha1_80Us\":%.3f,\"srtpAes128GcmSendtoUs\":%.3f,"
         "\"packets\":%lld,\"sent\":%lld,\"received\":%lld,\"srtpError\":%s%s%s}\n",
         packet_bytes, sockets, pps, burst, seconds, sendto_us, gcm_protect_us, cm_protect_us, gcm_sendto_us, packets, sent, received,
         srtp_error ? "\"" : "null", srtp_error ? srtp_error : "", srtp_error ? "\"" : "");
  return 0;
}
