/* tls-selfsigned.h: a throw-away serving certificate made in memory at
 * start, for daemons started without --tls-cert-file (as metrics-server
 * does). EC P-256 key, one year, CN "cadet@<unix time>", subjectAltName
 * localhost, 127.0.0.1, ::1 and this host's name. Clients must skip
 * verification or pin it; production deployments pass real files. */
#ifndef CADET_TLS_SELFSIGNED_H
#define CADET_TLS_SELFSIGNED_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"

int tls_selfsigned_generate(EVP_PKEY **key_out, X509 **cert_out, struct cadet_error *err);

#endif
