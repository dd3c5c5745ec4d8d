/* test_common.c: the small shared pieces the agent's flags and views stand
 * on.
 *
 * Covers duration_parse and duration_format against Go's time package
 * ("1s", "1.5s", "500ms", "1m30s", "1h0m0s", "12.21s", "0s", µs forms;
 * errors for "", "5", "1x", negative and overflowing values; round trips;
 * short output buffers; values past Go's largest duration clamped to it),
 * log_escape (control characters and bad UTF-8 as \xNN), strbuf (growth
 * past the first block, printf,
 * reset keeping memory, swap, the failed state), cadet_error set/prefix
 * (strerror appended once, nested prefixes, truncation instead of
 * overflow, NULL errors), listen_address_parse (host:port, :port, [v6]:port
 * and malformed addresses, which hosts count as loopback) and
 * agent_config_parse (defaults, every flag in
 * both --flag value and --flag=value form, bad values, --window shorter
 * than --interval, unknown flags and stray arguments), and the monotonic
 * timed wait the push threads use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/wire-http.h"
#include "common/duration.h"
#include "common/error.h"
#include "common/timefmt.h"
#include "common/https-server.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#define SEC 1000000000ULL

/* ---- durations ---- */

static void expect_duration(const char *text, uint64_t want_ns)
{
	struct cadet_error err = { 0 };
	uint64_t got = 12345;
	if (duration_parse(text, &got, &err) != 0)
		fail_msg("duration_parse(\"%s\"): %s", text, err.msg);
	if (got != want_ns)
		fail_msg("duration_parse(\"%s\") = %llu, want %llu", text, (unsigned long long)got,
			 (unsigned long long)want_ns);
}

static void expect_duration_error(const char *text)
{
	struct cadet_error err = { 0 };
	uint64_t got = 777;
	if (duration_parse(text, &got, &err) == 0)
		fail_msg("duration_parse(\"%s\") accepted: %llu", text ? text : "(null)", (unsigned long long)got);
	assert_true(err.errnum == EINVAL || err.errnum == ERANGE);
	assert_true(err.msg[0] != '\0');
	assert_true(got == 777);
}

static void test_duration_parse(void **state)
{
	(void)state;
	expect_duration("1s", SEC);
	expect_duration("1.5s", 1500000000ULL);
	expect_duration("500ms", 500000000ULL);
	expect_duration("1m30s", 90 * SEC);
	expect_duration("1h0m0s", 3600 * SEC);
	expect_duration("12.21s", 12210000000ULL);
	expect_duration("0s", 0);
	expect_duration("0", 0);
	expect_duration("15s", 15 * SEC);
	expect_duration("1h30m", 5400 * SEC);
	expect_duration("2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * SEC + SEC / 2);
	expect_duration("10ns", 10);
	expect_duration("300us", 300000);
	expect_duration("1\xc2\xb5s", 1000);  /* µs, U+00B5 */
	expect_duration("1\xce\xbcs", 1000);  /* μs, U+03BC */
	expect_duration("1.5ms", 1500000);
	expect_duration(".5s", SEC / 2);
	expect_duration("1m", 60 * SEC);
	expect_duration("100ms200ms", 300000000ULL); /* Go adds repeated units */
	expect_duration("9223372036854775807ns", 9223372036854775807ULL); /* Go's largest */
	expect_duration("5124095h", 5124095ULL * 3600 * SEC);
}

static void test_duration_parse_errors(void **state)
{
	(void)state;
	expect_duration_error("");
	expect_duration_error(NULL);
	expect_duration_error("5");        /* no unit */
	expect_duration_error("1x");
	expect_duration_error("s");
	expect_duration_error(".s");
	expect_duration_error("-1s");
	expect_duration_error("1s5");
	expect_duration_error("1 s");
	expect_duration_error(" 1s");
	expect_duration_error("1S");
	expect_duration_error("1sec");
	expect_duration_error("1min");
	expect_duration_error("18446744073709551616ns");       /* one past 2^64-1 */
	expect_duration_error("99999999999999999999999999s"); /* 20+ digits */
	expect_duration_error("5124096h");                     /* past 2^64 ns once scaled */
	expect_duration_error("5124095h5124095h");             /* the sum overflows */
}

static void expect_format(uint64_t ns, const char *want)
{
	char buf[64];
	size_t n = duration_format(ns, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("duration_format(%llu) = \"%s\", want \"%s\"", (unsigned long long)ns, buf, want);
	assert_int_equal(n, strlen(want));
	/* what we write, we read back */
	expect_duration(buf, ns);
}

static void test_duration_format(void **state)
{
	(void)state;
	expect_format(0, "0s");
	expect_format(1, "1ns");
	expect_format(999, "999ns");
	expect_format(1000, "1\xc2\xb5s");
	expect_format(1500, "1.5\xc2\xb5s");
	expect_format(500000000ULL, "500ms");
	expect_format(1500000, "1.5ms");
	expect_format(999999999ULL, "999.999999ms");
	expect_format(SEC, "1s");
	expect_format(1500000000ULL, "1.5s");
	expect_format(15 * SEC, "15s");
	expect_format(12210000000ULL, "12.21s");
	expect_format(1000000001ULL, "1.000000001s");
	expect_format(60 * SEC, "1m0s");
	expect_format(90 * SEC, "1m30s");
	expect_format(3600 * SEC, "1h0m0s");
	expect_format(3661 * SEC + SEC / 2, "1h1m1.5s");
	expect_format(100 * 3600 * SEC, "100h0m0s");
	expect_format(INT64_MAX, "2562047h47m16.854775807s"); /* Go's largest duration */

	/* beyond Go's largest duration: clamped to it, never unparseable */
	char big[64];
	duration_format(1ULL << 63, big, sizeof(big));
	assert_string_equal(big, "2562047h47m16.854775807s");
	duration_format(UINT64_MAX, big, sizeof(big));
	assert_string_equal(big, "2562047h47m16.854775807s");

	/* a short buffer gets a truncated, terminated prefix */
	char small[4];
	size_t n = duration_format(90 * SEC, small, sizeof(small));
	assert_int_equal(n, 3);
	assert_string_equal(small, "1m3");
	assert_int_equal(duration_format(SEC, small, 0), 0);
}

/* ---- log_escape ---- */

static void test_log_escape(void **state)
{
	(void)state;
	char out[128];
	log_escape("node-a", out, sizeof(out));
	assert_string_equal(out, "node-a");
	log_escape("a\n2099-01-01T00:00:00.000Z x error: FAKE\033[31m\r\t\x7f", out, sizeof(out));
	assert_string_equal(out, "a\\x0a2099-01-01T00:00:00.000Z x error: FAKE\\x1b[31m\\x0d\\x09\\x7f");
	/* valid UTF-8 stays; a stray byte, an overlong form and a surrogate do not */
	log_escape("\xc2\xb5s \xe2\x82\xac \xff \xc0\xaf \xed\xa0\x80", out, sizeof(out));
	assert_string_equal(out, "\xc2\xb5s \xe2\x82\xac \\xff \\xc0\\xaf \\xed\\xa0\\x80");
	/* a short buffer is cut before an escape, never inside one */
	char small[6];
	assert_int_equal(log_escape("ab\ncd", small, sizeof(small)), 2);
	assert_string_equal(small, "ab");
}

/* ---- utf8 ---- */

static void test_utf8_sanitize(void **state)
{
	(void)state;
	char *out = utf8_sanitize_dup("web-0 \xc2\xb5s \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_non_null(out);
	assert_string_equal(out, "web-0 \xc2\xb5s \xe2\x82\xac \xf0\x9f\x98\x80");
	free(out);
	/* stray byte, overlong, surrogate (promtool's "c\xed\xa0\x80"),
	 * above U+10FFFF, cut sequence, newline, ESC, DEL: each byte a U+FFFD */
	out = utf8_sanitize_dup("c\xed\xa0\x80|\xff|\xc0\xaf|\xf4\x90\x80\x80|\xe2\x82|\n\033\x7f");
	assert_non_null(out);
	assert_string_equal(out, "c\uFFFD\uFFFD\uFFFD|\uFFFD|\uFFFD\uFFFD|\uFFFD\uFFFD\uFFFD\uFFFD|"
				 "\uFFFD\uFFFD|\uFFFD\uFFFD\uFFFD");
	free(out);
	out = utf8_sanitize_dup(NULL);
	assert_non_null(out);
	assert_string_equal(out, "");
	free(out);
	const unsigned char two[] = "\xc2\xb5";
	assert_int_equal(utf8_sequence_len(two, 2), 2);
	assert_int_equal(utf8_sequence_len(two, 1), 0);
}

/* ---- strbuf ---- */

static void test_strbuf(void **state)
{
	(void)state;
	struct strbuf a, b;
	strbuf_init(&a);
	assert_int_equal(a.len, 0);
	assert_false(strbuf_failed(&a));
	strbuf_puts(&a, "hello");
	strbuf_append(&a, ", world", 7);
	strbuf_printf(&a, " %d%s", 42, "!");
	assert_string_equal(a.data, "hello, world 42!");
	assert_int_equal(a.len, 16);

	/* growth well past the first block keeps every byte */
	for (int i = 0; i < 1000; i++)
		strbuf_printf(&a, "[%04d]", i);
	assert_int_equal(a.len, 16 + 6000);
	assert_int_equal(strncmp(a.data + 16, "[0000][0001]", 12), 0);
	assert_string_equal(a.data + a.len - 6, "[0999]");
	assert_true(a.cap > a.len);

	/* reset empties but keeps the memory */
	char *mem = a.data;
	size_t cap = a.cap;
	strbuf_reset(&a);
	assert_int_equal(a.len, 0);
	assert_string_equal(a.data, "");
	assert_ptr_equal(a.data, mem);
	assert_int_equal(a.cap, cap);
	strbuf_puts(&a, "again");
	assert_string_equal(a.data, "again");
	assert_ptr_equal(a.data, mem);

	/* swap */
	strbuf_init(&b);
	strbuf_puts(&b, "other");
	strbuf_swap(&a, &b);
	assert_string_equal(a.data, "other");
	assert_string_equal(b.data, "again");

	/* embedded NULs are bytes like any other */
	strbuf_reset(&b);
	strbuf_append(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_int_equal(memcmp(b.data, "a\0b", 4), 0);

	/* an impossible size marks the buffer failed; later appends are
	 * ignored until a reset */
	strbuf_append(&b, "x", SIZE_MAX / 2);
	assert_true(strbuf_failed(&b));
	strbuf_puts(&b, "ignored");
	strbuf_printf(&b, "%s", "ignored");
	assert_int_equal(b.len, 3);
	strbuf_reset(&b);
	assert_false(strbuf_failed(&b));
	strbuf_puts(&b, "ok");
	assert_string_equal(b.data, "ok");

	strbuf_free(&a);
	strbuf_free(&b);
	assert_null(a.data);
	assert_int_equal(a.len, 0);
	strbuf_free(&a); /* twice is fine */
}

/* ---- errors ---- */

static void test_error(void **state)
{
	(void)state;
	struct cadet_error err;
	assert_int_equal(cadet_error_set(&err, ENOENT, "open %s", "/x/cpu.stat"), -1);
	assert_int_equal(err.errnum, ENOENT);
	char want[256];
	snprintf(want, sizeof(want), "open /x/cpu.stat: %s", strerror(ENOENT));
	assert_string_equal(err.msg, want);

	assert_int_equal(cadet_error_prefix(&err, "cgroup %s", "kubepods/pod1"), -1);
	assert_int_equal(cadet_error_prefix(&err, "collect"), -1);
	snprintf(want, sizeof(want), "collect: cgroup kubepods/pod1: open /x/cpu.stat: %s", strerror(ENOENT));
	assert_string_equal(err.msg, want);
	assert_int_equal(err.errnum, ENOENT); /* prefixes keep the cause */

	/* errnum 0: no strerror text */
	cadet_error_set(&err, 0, "memory.stat: line %u is not \"key value\"", 3u);
	assert_string_equal(err.msg, "memory.stat: line 3 is not \"key value\"");
	assert_int_equal(err.errnum, 0);

	/* long messages and prefixes are cut, never overflow (ASan) */
	char longtext[2000];
	memset(longtext, 'm', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	cadet_error_set(&err, EINVAL, "%s", longtext);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	cadet_error_prefix(&err, "%s", longtext);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_int_equal(err.errnum, EINVAL);
	cadet_error_set(&err, EIO, "short");
	cadet_error_prefix(&err, "%s", longtext);
	assert_true(strlen(err.msg) < sizeof(err.msg));

	cadet_error_clear(&err);
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.msg, "");

	/* a NULL error is allowed everywhere and still reports failure */
	assert_int_equal(cadet_error_set(NULL, EIO, "x"), -1);
	assert_int_equal(cadet_error_prefix(NULL, "x"), -1);
	cadet_error_clear(NULL);
}

/* ---- listen addresses ---- */

static void expect_listen(const char *text, const char *want_host, uint16_t want_port)
{
	char host[64];
	uint16_t port = 1;
	struct cadet_error err = { 0 };
	if (listen_address_parse(text, host, sizeof(host), &port, &err) != 0)
		fail_msg("listen_address_parse(\"%s\"): %s", text, err.msg);
	assert_string_equal(host, want_host);
	assert_int_equal(port, want_port);
}

static void expect_listen_error(const char *text, size_t host_size)
{
	char host[64];
	uint16_t port = 1;
	struct cadet_error err = { 0 };
	if (listen_address_parse(text, host, host_size, &port, &err) == 0)
		fail_msg("listen_address_parse(\"%s\") accepted: host \"%s\" port %u", text, host, port);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, text));
}

static void test_listen_address(void **state)
{
	(void)state;
	expect_listen("127.0.0.1:10265", "127.0.0.1", 10265);
	expect_listen(":8080", "", 8080);
	expect_listen("0.0.0.0:65535", "0.0.0.0", 65535);
	expect_listen("localhost:0", "localhost", 0);
	expect_listen("[::1]:9000", "::1", 9000);
	expect_listen("[::]:1", "::", 1);
	expect_listen("[fe80::1%eth0]:10265", "fe80::1%eth0", 10265);
	expect_listen("node-1.example.com:443", "node-1.example.com", 443);

	expect_listen_error("127.0.0.1", 64);
	expect_listen_error("127.0.0.1:", 64);
	expect_listen_error(":", 64);
	expect_listen_error("", 64);
	expect_listen_error("127.0.0.1:65536", 64);
	expect_listen_error("127.0.0.1:99999999999999999999", 64);
	expect_listen_error("127.0.0.1:-1", 64);
	expect_listen_error("127.0.0.1:http", 64);
	expect_listen_error("127.0.0.1:80x", 64);
	expect_listen_error("[::1]9000", 64);
	expect_listen_error("[::1]", 64);
	expect_listen_error("[::1:9000", 64);
	expect_listen_error("averyveryverylonghostname.example.com:80", 8); /* host too long */
	expect_listen_error("1234567:80", 7);                                /* no room for the NUL */

	assert_true(listen_host_is_loopback("127.0.0.1"));
	assert_true(listen_host_is_loopback("127.1.2.3"));
	assert_true(listen_host_is_loopback("::1"));
	assert_true(listen_host_is_loopback("localhost"));
	assert_false(listen_host_is_loopback(""));
	assert_false(listen_host_is_loopback("0.0.0.0"));
	assert_false(listen_host_is_loopback("::"));
	assert_false(listen_host_is_loopback("10.0.0.1"));
	assert_false(listen_host_is_loopback("128.0.0.1"));
}

/* ---- agent flags ---- */

static int parse(struct agent_config *cfg, struct cadet_error *err, ...)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)"cadet-agent";
	va_list ap;
	va_start(ap, err);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		assert_true(argc < 63);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	return agent_config_parse(cfg, argc, argv, err);
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct agent_config cfg;
	struct cadet_error err = { 0 };
	assert_int_equal(parse(&cfg, &err, NULL), 0);
	assert_string_equal(cfg.cgroup_root, "/sys/fs/cgroup");
	assert_string_equal(cfg.listen, AGENT_DEFAULT_LISTEN);
	assert_string_equal(cfg.debug_listen, AGENT_DEFAULT_DEBUG_LISTEN);
	assert_false(cfg.debug_listen_any);
	assert_null(cfg.tls_cert_file);
	assert_null(cfg.tls_private_key_file);
	assert_null(cfg.client_ca_file);
	assert_null(cfg.token_file);
	assert_true(cfg.interval_ns == SEC);
	assert_true(cfg.window_ns == 15 * SEC);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.log_format, "auto");
	assert_string_equal(cfg.container_runtime_endpoint, "unix:///run/containerd/containerd.sock");
	assert_true(cfg.runtime_request_timeout_ns == 2 * SEC);
	assert_null(cfg.aggregator);
	assert_true(cfg.bpf);
	assert_int_equal(cfg.max_connections, HTTPS_DEFAULT_MAX_CONNECTIONS);
	assert_false(cfg.show_help);
	assert_false(cfg.show_version);
	char host[256] = "";
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(cfg.node_name, host);
	/* the default addresses parse: HTTPS on every address, plain HTTP on
	 * loopback only, on ports no Kubernetes component uses */
	char h[64];
	uint16_t port = 0;
	assert_int_equal(listen_address_parse(cfg.listen, h, sizeof(h), &port, &err), 0);
	assert_string_equal(h, "");
	assert_int_equal(port, 10265);
	assert_int_equal(listen_address_parse(cfg.debug_listen, h, sizeof(h), &port, &err), 0);
	assert_true(listen_host_is_loopback(h));
	assert_int_equal(port, 10266);
}

static void test_config_every_flag(void **state)
{
	(void)state;
	struct agent_config cfg;
	struct cadet_error err = { 0 };
	int r = parse(&cfg, &err, "--cgroup-root", "/tmp/tree", "--node-name=worker-7", "--listen", ":9999",
		      "--interval=500ms", "--window", "30s", "--log-level", "debug", "--log-format=text",
		      "--container-runtime-endpoint", "unix:///var/run/crio/crio.sock", "--runtime-request-timeout=5s",
		      "--aggregator", "agg.example:8443", "--aggregator-ca-file=/ca.pem", "--aggregator-cert-file",
		      "/cert.pem", "--aggregator-key-file", "/key.pem", "--bpf=false", "--debug-listen",
		      "127.0.0.1:7777", "--debug-listen-any", "--tls-cert-file=/srv.pem", "--tls-private-key-file",
		      "/srv.key", "--client-ca-file", "/clients.pem", "--token-file=/token", "--max-connections",
		      "1000", NULL);
	if (r != 0)
		fail_msg("agent_config_parse: %s", err.msg);
	assert_string_equal(cfg.cgroup_root, "/tmp/tree");
	assert_string_equal(cfg.node_name, "worker-7");
	assert_string_equal(cfg.listen, ":9999");
	assert_true(cfg.interval_ns == SEC / 2);
	assert_true(cfg.window_ns == 30 * SEC);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.log_format, "text");
	assert_string_equal(cfg.container_runtime_endpoint, "unix:///var/run/crio/crio.sock");
	assert_true(cfg.runtime_request_timeout_ns == 5 * SEC);
	assert_string_equal(cfg.aggregator, "agg.example:8443");
	assert_string_equal(cfg.aggregator_ca_file, "/ca.pem");
	assert_string_equal(cfg.aggregator_cert_file, "/cert.pem");
	assert_string_equal(cfg.aggregator_key_file, "/key.pem");
	assert_false(cfg.bpf);
	assert_string_equal(cfg.debug_listen, "127.0.0.1:7777");
	assert_true(cfg.debug_listen_any);
	assert_string_equal(cfg.tls_cert_file, "/srv.pem");
	assert_string_equal(cfg.tls_private_key_file, "/srv.key");
	assert_string_equal(cfg.client_ca_file, "/clients.pem");
	assert_string_equal(cfg.token_file, "/token");
	assert_int_equal(cfg.max_connections, 1000);
	/* the limit's bounds */
	assert_int_equal(parse(&cfg, &err, "--max-connections=1", NULL), 0);
	assert_int_equal(cfg.max_connections, 1);
	assert_int_equal(parse(&cfg, &err, "--max-connections=65536", NULL), 0);
	assert_int_equal(cfg.max_connections, 65536);
	/* either listener can be turned off with "" */
	assert_int_equal(parse(&cfg, &err, "--listen=", "--debug-listen", "", NULL), 0);
	assert_string_equal(cfg.listen, "");
	assert_string_equal(cfg.debug_listen, "");

	/* booleans: bare, true, 1, 0 */
	assert_int_equal(parse(&cfg, &err, "--bpf", NULL), 0);
	assert_true(cfg.bpf);
	assert_int_equal(parse(&cfg, &err, "--bpf=0", NULL), 0);
	assert_false(cfg.bpf);
	assert_int_equal(parse(&cfg, &err, "--bpf=1", NULL), 0);
	assert_true(cfg.bpf);
	assert_int_equal(parse(&cfg, &err, "--help", NULL), 0);
	assert_true(cfg.show_help);
	assert_int_equal(parse(&cfg, &err, "--version", NULL), 0);
	assert_true(cfg.show_version);
	/* a second parse starts from the defaults again */
	assert_int_equal(parse(&cfg, &err, "--log-format", "journal", NULL), 0);
	assert_false(cfg.show_version);
	assert_true(cfg.bpf);
	assert_string_equal(cfg.log_format, "journal");
	/* window equal to the interval is allowed */
	assert_int_equal(parse(&cfg, &err, "--interval", "2s", "--window", "2s", NULL), 0);
	assert_true(cfg.window_ns == 2 * SEC);
	/* the aggregator's longest window is allowed */
	assert_int_equal(parse(&cfg, &err, "--window", "1h", NULL), 0);
	assert_true(cfg.window_ns == 3600 * SEC);
}

static void expect_config_error(const char *mention, ...)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = (char *)"cadet-agent";
	va_list ap;
	va_start(ap, mention);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		assert_true(argc < 15);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	struct agent_config cfg;
	struct cadet_error err = { 0 };
	if (agent_config_parse(&cfg, argc, argv, &err) == 0)
		fail_msg("accepted flags around %s", mention);
	if (!strstr(err.msg, mention))
		fail_msg("error does not mention %s: %s", mention, err.msg);
}

static void test_config_bad_values(void **state)
{
	(void)state;
	expect_config_error("--interval", "--interval", "5", NULL);
	expect_config_error("--interval", "--interval=0s", NULL);
	expect_config_error("--interval", "--interval", "fast", NULL);
	expect_config_error("--window", "--window", "-1s", NULL);
	expect_config_error("--window", "--window=0", NULL);
	expect_config_error("--window", "--window", "500ms", NULL); /* shorter than the 1s default interval */
	expect_config_error("--window", "--interval", "10s", "--window", "5s", NULL);
	expect_config_error("--window", "--interval", "1ms", "--window", "5s", NULL); /* 5000 intervals */
	/* 3600 intervals, but longer than the aggregator's 1 h */
	expect_config_error("--window", "--interval", "2s", "--window", "2h", NULL);
	expect_config_error("--runtime-request-timeout", "--runtime-request-timeout", "soon", NULL);
	expect_config_error("--log-level", "--log-level", "loud", NULL);
	expect_config_error("--log-format", "--log-format", "xml", NULL);
	expect_config_error("--bpf", "--bpf=maybe", NULL);
	expect_config_error("--debug-listen-any", "--debug-listen-any=sure", NULL);
	expect_config_error("--tls-private-key-file", "--tls-cert-file", "/srv.pem", NULL); /* one without the other */
	expect_config_error("--tls-cert-file", "--tls-private-key-file", "/srv.key", NULL);
	expect_config_error("--node-name", "--node-name", "", NULL);
	expect_config_error("--max-connections", "--max-connections", "0", NULL);
	expect_config_error("--max-connections", "--max-connections", "-1", NULL);
	expect_config_error("--max-connections", "--max-connections", "65537", NULL);
	expect_config_error("--max-connections", "--max-connections", "lots", NULL);
	expect_config_error("--max-connections", "--max-connections", "10k", NULL);
	expect_config_error("--max-connections", "--max-connections", "", NULL);
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	expect_config_error("--node-name", "--node-name", longname, NULL);
	expect_config_error("--no-such-flag", "--no-such-flag", NULL);
	expect_config_error("--interval", "--interval", NULL); /* value missing */
	expect_config_error("stray", "--listen", ":1", "stray", NULL);
}

static void test_config_window_message(void **state)
{
	(void)state;
	/* the message shows the durations as given, not rounded to seconds */
	struct agent_config cfg;
	struct cadet_error err = { 0 };
	assert_int_equal(parse(&cfg, &err, "--window", "500ms", NULL), -1);
	assert_non_null(strstr(err.msg, "500ms"));
	assert_non_null(strstr(err.msg, "1s"));
	assert_int_equal(parse(&cfg, &err, "--interval", "1m30s", "--window", "1m", NULL), -1);
	assert_non_null(strstr(err.msg, "1m0s"));
	assert_non_null(strstr(err.msg, "1m30s"));
}

/* A wait the push threads make: a condition variable from
 * cond_init_monotonic() with a deadline from clock_monotonic_after() times
 * out after the time asked, measured on the monotonic clock. On a
 * condition variable of the wall clock the same deadline would lie in
 * 1970 (the monotonic clock counts from boot) and the wait end at once;
 * the wall clock itself is not stepped here, the machine is shared. */
static void test_monotonic_timed_wait(void **state)
{
	(void)state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond;
	assert_int_equal(cond_init_monotonic(&cond), 0);
	pthread_mutex_lock(&lock);
	uint64_t start = clock_monotonic_ns();
	struct timespec until = clock_monotonic_after(80 * NSEC_PER_MSEC);
	int r;
	do {
		r = pthread_cond_timedwait(&cond, &lock, &until);
	} while (r == 0); /* spurious wake-ups */
	uint64_t waited = clock_monotonic_ns() - start;
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&cond);
	assert_int_equal(r, ETIMEDOUT);
	if (waited < 80 * NSEC_PER_MSEC || waited > 5 * NSEC_PER_SEC)
		fail_msg("waited %llu ns for an 80 ms deadline", (unsigned long long)waited);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_parse_errors),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_strbuf),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_listen_address),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_every_flag),
		cmocka_unit_test(test_config_bad_values),
		cmocka_unit_test(test_config_window_message),
		cmocka_unit_test(test_monotonic_timed_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
