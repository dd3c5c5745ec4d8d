# tests/cluster/pki.sh: makes the test cluster's certificates and keys with
# openssl, into $PKI_DIR. Sourced by `up` after lib.sh; pki_make is its one
# entry point. Three CAs, as kubeadm lays them out: the cluster CA (serving
# and client certificates of the API server and its clients), the
# front-proxy CA (the aggregation layer's client certificate, which
# extension API servers such as cadet-aggregator trust through
# --requestheader-client-ca-file), and the etcd CA (only kube-apiserver may
# talk to etcd). ECDSA P-256 keys, valid for two days: the cluster lives for
# one test run.

PKI_DAYS=2

# pki_key NAME: a new private key NAME.key.
pki_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$PKI_DIR/$1.key" 2>/dev/null || cluster_die "pki: cannot make key $1.key"
	chmod 600 "$PKI_DIR/$1.key"
}

# pki_ca NAME CN: a self-signed CA NAME.crt with its key NAME.key.
pki_ca() {
	pki_key "$1"
	openssl req -x509 -new -key "$PKI_DIR/$1.key" -subj "/CN=$2" -days "$PKI_DAYS" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature \
		-out "$PKI_DIR/$1.crt" 2>/dev/null || cluster_die "pki: cannot make CA $1.crt"
}

# pki_cert NAME CA SUBJECT USAGE [SANS]: NAME.crt and NAME.key signed by CA,
# for USAGE serverAuth, clientAuth or both ("serverAuth,clientAuth"), with
# subjectAltNames SANS ("IP:127.0.0.1,DNS:localhost") where given.
pki_cert() {
	name=$1 ca=$2 subject=$3 usage=$4 sans=${5:-}
	ext=$PKI_DIR/$name.ext
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$usage"
		if [ -n "$sans" ]; then echo "subjectAltName=$sans"; fi
	} >"$ext"
	pki_key "$name"
	openssl req -new -key "$PKI_DIR/$name.key" -subj "$subject" \
		-out "$PKI_DIR/$name.csr" 2>/dev/null || cluster_die "pki: cannot make request $name.csr"
	openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/$ca.crt" -CAkey "$PKI_DIR/$ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days "$PKI_DAYS" -extfile "$ext" \
		-out "$PKI_DIR/$name.crt" 2>/dev/null || cluster_die "pki: cannot sign $name.crt with $ca"
	rm -f "$PKI_DIR/$name.csr" "$ext"
}

pki_make() {
	mkdir -p "$PKI_DIR" || cluster_die "pki: cannot make $PKI_DIR"
	chmod 700 "$PKI_DIR"
	loopback_sans="IP:$LOOPBACK_IP,DNS:localhost"

	pki_ca ca cadet-test-cluster-ca
	pki_ca front-proxy-ca cadet-test-front-proxy-ca
	pki_ca etcd-ca cadet-test-etcd-ca

	pki_cert etcd-server etcd-ca /CN=cadet-test-etcd serverAuth "$loopback_sans"
	pki_cert apiserver-etcd-client etcd-ca /CN=kube-apiserver-etcd-client clientAuth

	pki_cert apiserver ca /CN=kube-apiserver serverAuth \
		"$loopback_sans,IP:$NODE_IP,IP:$SERVICE_KUBERNETES_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	# What kube-apiserver shows the kubelet (logs, exec, the node proxy).
	pki_cert apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
	# What kube-apiserver shows an extension API server it proxies to; the
	# extension accepts it for the name in --requestheader-allowed-names.
	pki_cert front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth

	pki_cert admin ca "/O=system:masters/CN=cadet-test-admin" clientAuth
	pki_cert kube-controller-manager ca /CN=system:kube-controller-manager clientAuth
	pki_cert kube-scheduler ca /CN=system:kube-scheduler clientAuth
	pki_cert kube-controller-manager-serving ca /CN=kube-controller-manager serverAuth "$loopback_sans"
	pki_cert kube-scheduler-serving ca /CN=kube-scheduler serverAuth "$loopback_sans"
	# The Node authorizer grants a kubelet what its node needs by this name.
	pki_cert kubelet-client ca "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
	# What the kubelet serves on its port, checked by kube-apiserver
	# (--kubelet-certificate-authority) for the node's address.
	pki_cert kubelet-serving ca "/O=system:nodes/CN=system:node:$NODE_NAME" serverAuth \
		"IP:$NODE_IP,DNS:$NODE_NAME"

	# Service-account tokens: kube-apiserver signs them with the private key
	# and checks them with the public one; the controller manager signs the
	# legacy token secrets with the same private key.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI_DIR/sa.key" 2>/dev/null ||
		cluster_die "pki: cannot make sa.key"
	chmod 600 "$PKI_DIR/sa.key"
	openssl pkey -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null ||
		cluster_die "pki: cannot write sa.pub"
}
