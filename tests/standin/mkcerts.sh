#!/bin/bash
# mkcerts.sh DIR - make the throwaway TLS material the stand-in needs.
#
# Writes into DIR:
#   ca.pem, ca.key         a test CA
#   server.pem, server.key a server certificate signed by that CA for
#                          IP:127.0.0.1 and DNS:localhost, valid for 2 days
#   other-ca.pem           a second, unrelated CA (tests use it to prove that
#                          a certificate from another CA is refused)
# Keys are EC prime256v1 and mode 0600. Silent on success; on failure the
# openssl output is shown and the exit status is non-zero.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi

dir=$1
mkdir -p "$dir"
umask 077

work=$(mktemp -d "$dir/.mkcerts.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run CMD... - run openssl quietly, showing its output only when it fails.
run() {
	if ! "$@" >"$work/log" 2>&1; then
		cat "$work/log" >&2
		echo "mkcerts.sh: failed: $*" >&2
		exit 1
	fi
}

# serial - print a random positive 64-bit certificate serial number.
serial() {
	echo "0x7$(openssl rand -hex 7)"
}

cat >"$work/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
export OPENSSL_CONF="$work/openssl.cnf"

# newkey FILE - make an EC P-256 private key (mode 0600 thanks to umask).
newkey() {
	run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
		-out "$1"
}

# newca KEY CERT CN - make a self-signed CA certificate.
newca() {
	newkey "$1"
	run openssl req -new -x509 -config "$OPENSSL_CONF" -extensions ca_ext \
		-key "$1" -subj "/O=jauth tests/CN=$3" -days 3 -sha256 \
		-set_serial "$(serial)" -out "$2"
}

newca "$dir/ca.key" "$work/ca.pem" "jauth test CA"
newca "$work/other-ca.key" "$work/other-ca.pem" "jauth unrelated CA"

newkey "$dir/server.key"
run openssl req -new -config "$OPENSSL_CONF" -key "$dir/server.key" \
	-subj "/O=jauth tests/CN=localhost" -out "$work/server.csr"
run openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" \
	-CAkey "$dir/ca.key" -set_serial "$(serial)" -days 2 -sha256 \
	-extfile "$OPENSSL_CONF" -extensions server_ext -out "$work/server.pem"

# Certificates are public: 0644, moved into place last.
chmod 0644 "$work/ca.pem" "$work/other-ca.pem" "$work/server.pem"
mv -f "$work/ca.pem" "$work/other-ca.pem" "$work/server.pem" "$dir/"
chmod 0600 "$dir/ca.key" "$dir/server.key"
