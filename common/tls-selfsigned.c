/* tls-selfsigned.c: builds a self-signed certificate with the OpenSSL 3 EVP
 * and X509 APIs (see tls-selfsigned.h). */
#include "tls-selfsigned.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void x509_freep(X509 **p)
{
	X509_free(*p);
}

static void x509_ext_freep(X509_EXTENSION **p)
{
	X509_EXTENSION_free(*p);
}

static int ossl_error(struct cadet_error *err, const char *what)
{
	char buf[256];
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	return cadet_error_set(err, 0, "self-signed certificate: %s: %s", what, buf);
}

static int add_ext(X509 *cert, int nid, const char *value, struct cadet_error *err)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	__attribute__((cleanup(x509_ext_freep))) X509_EXTENSION *ext =
		X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(cert, ext, -1))
		return ossl_error(err, "adding an extension");
	return 0;
}

int tls_selfsigned_generate(EVP_PKEY **key_out, X509 **cert_out, struct cadet_error *err)
{
	__attribute__((cleanup(pkey_freep))) EVP_PKEY *key = EVP_EC_gen("P-256");
	if (!key)
		return ossl_error(err, "generating a P-256 key");
	__attribute__((cleanup(x509_freep))) X509 *cert = X509_new();
	if (!cert)
		return ossl_error(err, "X509_new");

	unsigned char serial_bytes[16];
	if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1)
		return ossl_error(err, "random serial");
	serial_bytes[0] &= 0x7f; /* positive */
	BIGNUM *serial_bn = BN_bin2bn(serial_bytes, sizeof(serial_bytes), NULL);
	if (!serial_bn)
		return ossl_error(err, "serial");
	ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(cert));
	BN_free(serial_bn);
	if (!serial)
		return ossl_error(err, "serial");

	char cn[64];
	snprintf(cn, sizeof(cn), "cadet@%lld", (long long)time(NULL));
	char host[256] = "localhost";
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	char san[400];
	snprintf(san, sizeof(san), "DNS:localhost,DNS:%s,IP:127.0.0.1,IP:::1", host);

	X509_NAME *name = X509_get_subject_name(cert);
	if (!X509_set_version(cert, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(cert, name) || !X509_set_pubkey(cert, key))
		return ossl_error(err, "filling the certificate");
	if (add_ext(cert, NID_basic_constraints, "critical,CA:FALSE", err) < 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment", err) < 0 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth", err) < 0 ||
	    add_ext(cert, NID_subject_alt_name, san, err) < 0)
		return -1;
	if (X509_sign(cert, key, EVP_sha256()) == 0)
		return ossl_error(err, "signing");
	*key_out = key;
	*cert_out = cert;
	key = NULL;
	cert = NULL;
	return 0;
}
