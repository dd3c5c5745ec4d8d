/* json.h: the few JSON writing helpers the renderers need. Strings are
 * escaped as Go's encoding/json does for our purposes: quotes, backslashes
 * and control characters escaped, invalid UTF-8 replaced by U+FFFD, so the
 * output is valid JSON whatever bytes an agent sent. */
#ifndef CADET_AGG_JSON_H
#define CADET_AGG_JSON_H

#include "common/strbuf.h"

/* Appends s as a quoted JSON string. */
void agg_json_string(struct strbuf *sb, const char *s);

#endif
