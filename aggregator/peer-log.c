/* peer-log.c: per-peer log rate limit (see peer-log.h). */
#include "peer-log.h"

#include <stdio.h>
#include <string.h>

void peer_log_init(struct peer_log *pl, uint64_t interval_ns)
{
	memset(pl, 0, sizeof(*pl));
	pl->interval_ns = interval_ns;
}

/* The host part of a gRPC peer string: "ipv4:1.2.3.4:5678" -> "ipv4:1.2.3.4",
 * "ipv6:[::1]:5678" -> "ipv6:[::1]"; anything else is kept as it is. */
static void peer_host(const char *peer, char *out, size_t size)
{
	snprintf(out, size, "%s", peer ? peer : "?");
	char *colon = strrchr(out, ':');
	char *first = strchr(out, ':');
	if (colon && first && colon != first)
		*colon = '\0';
}

/* Counts one line against the cap of all peers; false when it is spent. */
static bool take_line(struct peer_log *pl, uint64_t now_mono_ns)
{
	if (pl->lines == 0 || now_mono_ns - pl->lines_start_mono_ns >= pl->interval_ns) {
		pl->lines_start_mono_ns = now_mono_ns;
		pl->lines = 0;
	}
	if (pl->lines >= PEER_LOG_MAX_LINES)
		return false;
	pl->lines++;
	return true;
}

bool peer_log_allow(struct peer_log *pl, const char *peer, const char *node, uint64_t now_mono_ns,
		    uint64_t *suppressed)
{
	char host[PEER_LOG_HOST_MAX], key[PEER_LOG_KEY_MAX];
	peer_host(peer, host, sizeof(host));
	snprintf(key, sizeof(key), "%s %.253s", host, node ? node : "");
	struct peer_log_slot *slot = NULL, *oldest = &pl->slots[0];
	for (size_t i = 0; i < PEER_LOG_SLOTS; i++) {
		struct peer_log_slot *s = &pl->slots[i];
		if (s->key[0] && strcmp(s->key, key) == 0) {
			slot = s;
			break;
		}
		if (!s->key[0] && oldest->key[0])
			oldest = s;
		else if (s->key[0] && oldest->key[0] && s->logged_mono_ns < oldest->logged_mono_ns)
			oldest = s;
	}
	if (!slot) {
		slot = oldest;
		memcpy(slot->key, key, sizeof(key));
		slot->suppressed = 0;
		slot->logged_mono_ns = now_mono_ns;
		if (!take_line(pl, now_mono_ns)) {
			slot->suppressed = 1;
			return false;
		}
		*suppressed = 0;
		return true;
	}
	if (now_mono_ns - slot->logged_mono_ns < pl->interval_ns || !take_line(pl, now_mono_ns)) {
		slot->suppressed++;
		return false;
	}
	*suppressed = slot->suppressed;
	slot->suppressed = 0;
	slot->logged_mono_ns = now_mono_ns;
	return true;
}
