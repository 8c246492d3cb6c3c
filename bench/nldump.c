// nldump: the floor. The least work a TCP inet_diag dumper can do: one
// SOCK_DIAG_BY_FAMILY dump per family (AF_INET, then AF_INET6) on a fresh
// NETLINK_SOCK_DIAG socket, a static 64 KiB receive buffer, one recvmsg() per
// datagram, rows counted by state, attributes walked, INFO touched. Anything
// the addon does beyond this shows up as time above nldump's.
//
// Output: one "run" line per repeat, then a "summary" line (key=value, for
// scripts). Exit status 1 on any netlink or system error.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxRuns = 1000, kStates = 16 };

struct options {
  unsigned ext;       // -e: idiag_ext request bits
  unsigned states;    // -s: idiag_states mask
  int runs;           // -r
  const char* netns;  // -N: setns() into this before socket()
  int families;       // -f: bit 0 = AF_INET, bit 1 = AF_INET6
  int verbose;        // -v: per-state row counts
};

struct tally {
  long rows;
  long recvmsgs;
  long bytes;
  long info_attrs;
  unsigned long info_sum;  // keeps the INFO read from being optimised away
  long by_state[kStates];
};

// Aligned to 8 so nlmsghdr casts are safe; 64 KiB is twice the kernel's
// largest dump datagram (SKB_WITH_OVERHEAD(32768), af_netlink.c).
static char buffer[64 * 1024] __attribute__((aligned(8)));

static void die(const char* what) {
  fprintf(stderr, "nldump: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: nldump [-e EXT] [-s STATES] [-r RUNS] [-f 4|6|46] "
          "[-N NETNS_PATH] [-v]\n"
          "  -e EXT     idiag_ext bits: 0, 0x02 (INFO), 0x42 (INFO|SKMEMINFO)"
          " (default 0)\n"
          "  -s STATES  idiag_states mask (default 0xfff)\n"
          "  -r RUNS    repeat the dump, print min and median (default 1)\n"
          "  -f FAM     families: 4, 6 or 46 (default 46)\n"
          "  -N PATH    setns(PATH) first, e.g. /run/netns/NAME\n"
          "  -v         print rows per state\n");
  exit(2);
}

static unsigned long parse_ulong(const char* text, unsigned long max) {
  char* end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || value > max) {
    fprintf(stderr, "nldump: expected an integer <= %lu, got '%s'\n", max,
            text);
    exit(2);
  }
  return value;
}

static void parse_options(int argc, char** argv, struct options* opt) {
  *opt = (struct options){.states = 0xfff, .runs = 1, .families = 3};
  int c;
  while ((c = getopt(argc, argv, "e:s:r:f:N:vh")) != -1) {
    switch (c) {
      case 'e':
        opt->ext = (unsigned)parse_ulong(optarg, 0xff);
        break;
      case 's':
        opt->states = (unsigned)parse_ulong(optarg, 0xffffffffu);
        break;
      case 'r':
        opt->runs = (int)parse_ulong(optarg, kMaxRuns);
        break;
      case 'N':
        opt->netns = optarg;
        break;
      case 'v':
        opt->verbose = 1;
        break;
      case 'f':
        if (strcmp(optarg, "4") == 0)
          opt->families = 1;
        else if (strcmp(optarg, "6") == 0)
          opt->families = 2;
        else if (strcmp(optarg, "46") == 0)
          opt->families = 3;
        else
          usage();
        break;
      default:
        usage();
    }
  }
  if (optind != argc || opt->runs < 1) usage();
}

// The dumped namespace is the one the netlink socket is created in, so
// entering it once before the first socket() is enough.
static void enter_netns(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  if (setns(fd, CLONE_NEWNET) != 0) die("setns");
  close(fd);
}

static int open_diag(uint32_t* port_id) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) die("socket(NETLINK_SOCK_DIAG)");
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  socklen_t len = sizeof local;
  if (bind(fd, (struct sockaddr*)&local, sizeof local) != 0) die("bind");
  if (getsockname(fd, (struct sockaddr*)&local, &len) != 0) die("getsockname");
  *port_id = local.nl_pid;
  return fd;
}

static void send_dump(int fd, int family, const struct options* opt,
                      uint32_t seq) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg = {
      .nlh = {.nlmsg_len = sizeof msg,
              .nlmsg_type = SOCK_DIAG_BY_FAMILY,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
              .nlmsg_seq = seq},
      .req = {.sdiag_family = (uint8_t)family,
              .sdiag_protocol = IPPROTO_TCP,
              .idiag_ext = (uint8_t)opt->ext,
              .idiag_states = opt->states},
  };
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n =
      sendto(fd, &msg, sizeof msg, 0, (struct sockaddr*)&kernel, sizeof kernel);
  if (n != (ssize_t)sizeof msg) die("sendto");
}

static void fail(const char* what, int err) {
  fprintf(stderr, "nldump: %s: %s\n", what, strerror(err));
  exit(1);
}

// Walks the attributes after inet_diag_msg: only INFO is read (its first
// byte, tcpi_state), everything else is skipped by length.
static void walk_row(const struct nlmsghdr* nlh, struct tally* t) {
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
    fprintf(stderr, "nldump: short inet_diag_msg (%u bytes)\n", nlh->nlmsg_len);
    exit(1);
  }
  const struct inet_diag_msg* row = NLMSG_DATA(nlh);
  t->rows++;
  t->by_state[row->idiag_state % kStates]++;
  const char* attr = (const char*)(row + 1);
  const char* end = (const char*)nlh + nlh->nlmsg_len;
  while (end - attr >= (long)sizeof(struct nlattr)) {
    const struct nlattr* nla = (const struct nlattr*)attr;
    if (nla->nla_len < sizeof *nla || nla->nla_len > end - attr) {
      fprintf(stderr, "nldump: malformed attribute\n");
      exit(1);
    }
    if ((nla->nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO &&
        nla->nla_len > NLA_HDRLEN) {
      t->info_attrs++;
      t->info_sum += (unsigned char)attr[NLA_HDRLEN];
    }
    attr += NLA_ALIGN(nla->nla_len);
  }
}

// Returns 1 when the dump has ended (NLMSG_DONE), 0 otherwise.
static int walk_datagram(size_t len, uint32_t seq, uint32_t port_id,
                         struct tally* t) {
  for (const struct nlmsghdr* nlh = (const struct nlmsghdr*)buffer;
       NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
    if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != port_id) {
      fprintf(stderr, "nldump: stray message seq %u pid %u\n", nlh->nlmsg_seq,
              nlh->nlmsg_pid);
      exit(1);
    }
    if (nlh->nlmsg_type == NLMSG_DONE) {
      // The payload is the dump's final errno (negative) or 0; a failed
      // dump (e.g. -ENOENT for a missing protocol handler) ends here.
      int status = 0;
      if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof status))
        memcpy(&status, NLMSG_DATA(nlh), sizeof status);
      if (status != 0) fail("NLMSG_DONE", -status);
      return 1;
    }
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      const struct nlmsgerr* err = NLMSG_DATA(nlh);
      fail("NLMSG_ERROR", -err->error);
    }
    if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY) walk_row(nlh, t);
  }
  if (len != 0) {
    fprintf(stderr, "nldump: %zu trailing bytes in datagram\n", len);
    exit(1);
  }
  return 0;
}

static void dump_family(int fd, int family, uint32_t seq, uint32_t port_id,
                        const struct options* opt, struct tally* t) {
  send_dump(fd, family, opt, seq);
  for (;;) {
    struct iovec iov = {.iov_base = buffer, .iov_len = sizeof buffer};
    struct sockaddr_nl from;
    struct msghdr mh = {.msg_name = &from,
                        .msg_namelen = sizeof from,
                        .msg_iov = &iov,
                        .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvmsg");
    }
    t->recvmsgs++;
    if (mh.msg_flags & MSG_TRUNC) {
      fprintf(stderr, "nldump: datagram truncated (> %zu bytes)\n",
              sizeof buffer);
      exit(1);
    }
    t->bytes += n;
    if (walk_datagram((size_t)n, seq, port_id, t)) return;
  }
}

static double now_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(const struct timeval* tv) {
  return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int compare_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static void print_states(const struct tally* t) {
  static const char* const names[kStates] = {
      "0",          "ESTAB",      "SYN-SENT",  "SYN-RECV",
      "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN",
      "CLOSE-WAIT", "LAST-ACK",   "LISTEN",    "CLOSING",
      "12",         "13",         "14",        "15"};
  for (int s = 0; s < kStates; s++)
    if (t->by_state[s] != 0) printf("  %-10s %ld\n", names[s], t->by_state[s]);
}

int main(int argc, char** argv) {
  struct options opt;
  parse_options(argc, argv, &opt);
  if (opt.netns != NULL) enter_netns(opt.netns);

  static double elapsed[kMaxRuns];
  struct tally t = {0};
  for (int run = 0; run < opt.runs; run++) {
    t = (struct tally){0};
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    double start = now_seconds(CLOCK_MONOTONIC);
    uint32_t port_id;
    int fd = open_diag(&port_id);
    if (opt.families & 1) dump_family(fd, AF_INET, 1, port_id, &opt, &t);
    if (opt.families & 2) dump_family(fd, AF_INET6, 2, port_id, &opt, &t);
    close(fd);
    elapsed[run] = now_seconds(CLOCK_MONOTONIC) - start;
    getrusage(RUSAGE_SELF, &after);
    printf(
        "run %d rows=%ld recvmsg=%ld bytes=%ld info=%ld time_s=%.6f "
        "user_s=%.3f sys_s=%.3f\n",
        run + 1, t.rows, t.recvmsgs, t.bytes, t.info_attrs, elapsed[run],
        cpu_seconds(&after.ru_utime) - cpu_seconds(&before.ru_utime),
        cpu_seconds(&after.ru_stime) - cpu_seconds(&before.ru_stime));
    if (opt.verbose) {
      print_states(&t);
      printf("  info tcpi_state sum %lu\n", t.info_sum);
    }
  }
  qsort(elapsed, (size_t)opt.runs, sizeof elapsed[0], compare_double);
  int mid = opt.runs / 2;
  double median =
      opt.runs % 2 ? elapsed[mid] : (elapsed[mid - 1] + elapsed[mid]) / 2;
  printf(
      "summary ext=0x%02x states=0x%x runs=%d rows=%ld recvmsg=%ld "
      "min_s=%.6f median_s=%.6f rows_per_s=%.0f\n",
      opt.ext, opt.states, opt.runs, t.rows, t.recvmsgs, elapsed[0], median,
      median > 0 ? (double)t.rows / median : 0.0);
  return 0;
}
