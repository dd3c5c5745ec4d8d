/* peer-log.h: at most one log line per peer and interval for per-stream
 * events (a stream opened, a stream closed for a bad report), with the count
 * of lines held back, so a client that opens and cancels streams in a loop
 * cannot flood the log. A peer is a host and the node it reports for (one
 * agent); however many peers there are, at most PEER_LOG_MAX_LINES lines are
 * written per interval in all. Used by the gRPC thread only: no locking. */
#ifndef CADET_AGG_PEER_LOG_H
#define CADET_AGG_PEER_LOG_H

#include <stdbool.h>
#include <stdint.h>

#define PEER_LOG_SLOTS 256
#define PEER_LOG_HOST_MAX 64
#define PEER_LOG_KEY_MAX (PEER_LOG_HOST_MAX + 254) /* host and a node name of up to 253 bytes */
#define PEER_LOG_MAX_LINES 100

struct peer_log_slot {
	char key[PEER_LOG_KEY_MAX]; /* host " " node; "" when free */
	uint64_t logged_mono_ns;
	uint64_t suppressed; /* events since the last line */
};

struct peer_log {
	uint64_t interval_ns;
	uint64_t lines_start_mono_ns; /* start of the interval lines counts */
	unsigned lines;
	struct peer_log_slot slots[PEER_LOG_SLOTS];
};

void peer_log_init(struct peer_log *pl, uint64_t interval_ns);

/* Whether an event of peer (gRPC's "ipv4:1.2.3.4:5678" form; the port is
 * left out, so every connection of one host shares a slot) for node (NULL:
 * none yet) may be logged at now_mono_ns. When it may, *suppressed is the number of its events held
 * back since its last line; when not, the event is counted for the next
 * line. A full table reuses the slot logged longest ago. */
bool peer_log_allow(struct peer_log *pl, const char *peer, const char *node, uint64_t now_mono_ns,
		    uint64_t *suppressed);

#endif
